// The consul resolver against a real `consul agent -dev`, when a consul binary is on PATH.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { createResolver } from '../../resolver/create-resolver.js';
import { Recorder } from './recorder.js';

const consulBinary = (() => {
  const found = spawnSync('sh', ['-c', 'command -v consul'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
})();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function http(
  method: string,
  port: number,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Starts a dev agent on free loopback ports; resolves with its HTTP port once it has a leader. */
async function startAgent(t: TestContext, binary: string): Promise<number> {
  const ports = await Promise.all(Array.from({ length: 6 }, freePort));
  const [httpPort, dnsPort, grpcPort, serfLan, serfWan, server] = ports;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-consul-'));
  const child = spawn(
    binary,
    [
      'agent',
      '-dev',
      '-bind=127.0.0.1',
      '-client=127.0.0.1',
      `-data-dir=${dir}`,
      `-http-port=${httpPort}`,
      `-dns-port=${dnsPort}`,
      `-grpc-port=${grpcPort}`,
      `-serf-lan-port=${serfLan}`,
      `-serf-wan-port=${serfWan}`,
      `-server-port=${server}`,
    ],
    { stdio: 'ignore' },
  );
  t.after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const leader = await http('GET', httpPort, '/v1/status/leader');
      if (leader.status === 200 && leader.text.length > 4) return httpPort;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('consul agent -dev did not elect a leader in 15 s');
}

void it(
  consulBinary
    ? 'follows service registrations on a real consul agent -dev'
    : 'follows service registrations on a real consul agent -dev (skipped: no consul binary on PATH)',
  { skip: consulBinary === undefined, timeout: 20_000 },
  async (t) => {
    const port = await startAgent(t, consulBinary!);
    const register = (id: string, address: string, weight: number) =>
      http('PUT', port, '/v1/agent/service/register', {
        ID: id,
        Name: 'route_guide',
        Address: address,
        Port: 50051,
        Tags: ['grpc'],
        Weights: { Passing: weight, Warning: 1 },
      });
    assert.equal((await register('rg-1', '127.0.0.2', 3)).status, 200);
    const resolver = createResolver(`consul://127.0.0.1:${port}/route_guide?tag=grpc`, {
      consul: { waitMs: 5_000, minIntervalMs: 50 },
      env: {},
    });
    t.after(() => resolver.close());
    const rec = new Recorder();
    resolver.subscribe(rec);
    await rec.waitFor((r) => r.keys.join() === '127.0.0.2:50051', 5_000, 'first instance');
    assert.equal(rec.updates.at(-1)?.endpoints[0].weight, 3);
    assert.equal((await register('rg-2', '127.0.0.3', 1)).status, 200);
    await rec.waitFor(
      (r) => r.keys.join() === '127.0.0.2:50051,127.0.0.3:50051',
      2_000,
      'second instance',
    );
    assert.equal((await http('PUT', port, '/v1/agent/service/deregister/rg-1')).status, 200);
    await rec.waitFor((r) => r.keys.join() === '127.0.0.3:50051', 2_000, 'deregistration');
    const missing = createResolver(`consul://127.0.0.1:${port}/nothing_here`, { env: {} });
    t.after(() => missing.close());
    const rec2 = new Recorder();
    missing.subscribe(rec2);
    await rec2.waitFor((r) => r.notFounds.length === 1, 5_000, 'not-found');
  },
);
