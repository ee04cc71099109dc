// The access log through a real proxy: one JSON line per call with every field when sample is
// 1, none when 0, about half at 0.5, exactly the injected draws otherwise; flushed on close.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { AccessLogLine } from '../../observability/access-log.js';
import { createTestCerts, mutualTls } from '../support/certs.js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { testCluster } from '../support/proxy-harness.js';
import { startObservedProxy, type ObservedTestProxy } from './observed-proxy.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-access-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function readLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function withProxy(
  t: TestContext,
  sample: number,
  destination: string,
  random?: () => number,
): Promise<{ proxy: ObservedTestProxy; backend: EchoBackend; stop: () => Promise<void> }> {
  const backend = await startEchoBackend({ name: 'a' });
  const proxy = await startObservedProxy(
    {
      upstream: backend.address,
      // A cluster nobody listens for: its calls end with a status the proxy makes.
      clusters: [
        testCluster('nowhere', 'static:///127.0.0.1:1', {
          timeouts: { defaultMs: undefined, maxMs: undefined, connectMs: 200 },
        }),
      ],
      routes: [
        {
          name: 'to-nowhere',
          match: { service: 'test.Echo', method: 'ServerStream', headers: [] },
          cluster: 'nowhere',
        },
      ],
      config: { accessLog: { sample, destination } },
    },
    random ? { accessLog: { random } } : {},
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await proxy.close();
    backend.kill();
  };
  t.after(stop);
  return { proxy, backend, stop };
}

async function unaryCalls(target: string, n: number, request = {}): Promise<void> {
  const client = echoClient(target);
  try {
    for (let i = 0; i < n; i++) await echoUnary(client, request);
  } finally {
    client.close();
  }
}

describe('access log', () => {
  it('writes one line per call with every field when sample is 1', async (t) => {
    const file = join(tempDir(t), 'logs', 'access.log');
    const { proxy, backend, stop } = await withProxy(t, 1, file);
    const client = echoClient(proxy.target);
    t.after(() => client.close());
    for (let i = 0; i < 10; i++) {
      assert.equal((await echoUnary(client, { payload: Buffer.from('ping') })).status.code, 0);
    }
    for (let i = 0; i < 2; i++) {
      assert.equal((await echoUnary(client, { statusCode: 5 })).status.code, 5);
    }
    const refused = await new Promise<number>((resolve) => {
      const call = client.ServerStream({});
      call.on('error', () => {});
      call.on('status', (s) => resolve(s.code));
    });
    assert.equal(refused, 14);
    client.close();
    await stop(); // flushes the log

    const lines = readLines(file) as unknown as AccessLogLine[];
    assert.equal(lines.length, 13);
    const ok = lines.filter((l) => l.status === 0);
    const notFound = lines.filter((l) => l.status === 5);
    const unavailable = lines.filter((l) => l.status === 14);
    assert.equal(ok.length, 10);
    assert.equal(notFound.length, 2);
    assert.equal(unavailable.length, 1);

    const line = ok[0];
    assert.deepEqual(Object.keys(line).sort(), [
      'bytesIn',
      'bytesOut',
      'cluster',
      'durationMs',
      'endpoint',
      'log',
      'method',
      'peer',
      'route',
      'status',
      'statusName',
      'time',
    ]);
    assert.equal(line.log, 'access');
    assert.ok(Math.abs(Date.parse(line.time) - Date.now()) < 60_000, line.time);
    assert.match(line.peer!, /^127\.0\.0\.1:\d+$/);
    assert.equal(line.method, '/test.Echo/Unary');
    assert.equal(line.route, 'default');
    assert.equal(line.cluster, 'default');
    assert.equal(line.endpoint, backend.address);
    assert.equal(line.statusName, 'OK');
    assert.ok(line.durationMs > 0 && line.durationMs < 10_000);
    assert.ok(line.bytesIn >= 5 + 6, `bytesIn ${line.bytesIn}`);
    assert.ok(line.bytesOut > 5, `bytesOut ${line.bytesOut}`);
    assert.equal(notFound[0].statusName, 'NOT_FOUND');
    // The status came from the backend: no message from the proxy.
    assert.equal(notFound[0].message, undefined);

    const made = unavailable[0];
    assert.equal(made.statusName, 'UNAVAILABLE');
    assert.equal(made.cluster, 'nowhere');
    assert.equal(made.route, 'to-nowhere');
    assert.equal(made.method, '/test.Echo/ServerStream');
    assert.equal(made.endpoint, undefined);
    assert.match(made.message!, /no (ready )?endpoint|127\.0\.0\.1:1/);
  });

  it('writes nothing, and opens nothing, when sample is 0', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const { proxy, stop } = await withProxy(t, 0, file);
    await unaryCalls(proxy.target, 20);
    await stop();
    assert.equal(existsSync(file), false);
  });

  it('writes about half of the calls when sample is 0.5', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const { proxy, stop } = await withProxy(t, 0.5, file);
    await unaryCalls(proxy.target, 200);
    await stop();
    const n = readLines(file).length;
    // Binomial(200, 0.5): mean 100, σ ≈ 7; 60..140 fails once in ~10^8 runs.
    assert.ok(n >= 60 && n <= 140, `${n} of 200 calls logged`);
  });

  it('logs exactly the calls whose draw is below the share', async (t) => {
    const file = join(tempDir(t), 'access.log');
    const draws = [0.1, 0.5, 0.29, 0.3, 0.9];
    let i = 0;
    const { proxy, stop } = await withProxy(t, 0.3, file, () => draws[i++ % draws.length]);
    await unaryCalls(proxy.target, 10);
    await stop();
    assert.equal(readLines(file).length, 4);
    assert.equal(i, 10);
  });

  it('moves to a new destination and stops at sample 0 on reconfigure', async (t) => {
    const dir = tempDir(t);
    const first = join(dir, 'first.log');
    const second = join(dir, 'second.log');
    const { proxy, stop } = await withProxy(t, 1, first);
    const config = proxy.proxy.config;
    await unaryCalls(proxy.target, 3);
    await proxy.observability.reconfigure({
      ...config,
      accessLog: { sample: 1, destination: second },
    });
    // The first file was flushed and closed by the move.
    assert.equal(readLines(first).length, 3);
    await unaryCalls(proxy.target, 4);
    await proxy.observability.reconfigure({
      ...config,
      accessLog: { sample: 0, destination: second },
    });
    assert.equal(readLines(second).length, 4);
    await unaryCalls(proxy.target, 5);

    // A destination that cannot be opened leaves the log as it was.
    await assert.rejects(
      proxy.observability.reconfigure({
        ...config,
        accessLog: { sample: 1, destination: join(first, 'not-a-dir', 'x.log') },
      }),
      (err: Error & { code?: string }) =>
        err.code === 'SWY_ERR_CONFIG' && /access log/.test(err.message),
    );
    await stop();
    assert.equal(readLines(first).length, 3);
    assert.equal(readLines(second).length, 4);
  });

  it('reopens its file on a reload, so a log rotated by rename loses no line', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'access.log');
    const { proxy, stop } = await withProxy(t, 1, file);
    await unaryCalls(proxy.target, 3);
    // What logrotate does by default: rename, then signal. Until the reload, lines still go
    // to the renamed file (the descriptor follows it).
    renameSync(file, `${file}.1`);
    await unaryCalls(proxy.target, 2);
    // A reload brings a config object of its own, even when nothing in it changed.
    await proxy.observability.reconfigure({ ...proxy.proxy.config });
    await unaryCalls(proxy.target, 4);
    await stop();
    assert.equal(readLines(`${file}.1`).length, 5);
    assert.equal(readLines(file).length, 4);
  });

  it('reopens nothing for stdout, and keeps writing where it was when the file cannot be opened', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'logs', 'access.log');
    const { proxy, stop } = await withProxy(t, 1, file);
    await unaryCalls(proxy.target, 2);
    // The folder is replaced by a file: the path cannot be opened again.
    renameSync(join(dir, 'logs'), join(dir, 'old-logs'));
    writeFileSync(join(dir, 'logs'), '');
    await assert.rejects(
      proxy.observability.reconfigure({ ...proxy.proxy.config }),
      (err: Error & { code?: string }) =>
        err.code === 'SWY_ERR_CONFIG' && /cannot open the access log/.test(err.message),
    );
    await unaryCalls(proxy.target, 3);
    await stop();
    assert.equal(readLines(join(dir, 'old-logs', 'access.log')).length, 5);

    const quiet = await withProxy(t, 1, 'stdout');
    await quiet.proxy.observability.reconfigure({ ...quiet.proxy.proxy.config });
    await quiet.stop();
  });

  it('writes the verified client certificate identity of an mTLS listener as peerIdentity', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const dir = tempDir(t);
    const file = join(dir, 'access.log');
    const backend = await startEchoBackend({ name: 'a' });
    t.after(() => backend.kill());
    const proxy = await startObservedProxy({
      upstream: backend.address,
      listener: { tls: mutualTls(certs, { requireClientCert: true }) },
      config: { accessLog: { sample: 1, destination: file } },
    });
    t.after(() => proxy.close());
    const client = echoClient(`localhost:${proxy.port}`, {
      credentials: grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert),
    });
    try {
      for (let i = 0; i < 2; i++) await echoUnary(client, {});
    } finally {
      client.close();
    }
    await proxy.close();
    const lines = readLines(file);
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const identity = line.peerIdentity as Record<string, unknown>;
      assert.equal(identity.subject, 'CN=switchyard-test-client');
      assert.equal(identity.commonName, 'switchyard-test-client');
      assert.deepEqual(identity.dns, []);
      assert.equal(typeof identity.fingerprint256, 'string');
    }
  });

  it('counts calls by the client certificate identity a listener names in tls.peerLabel', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const backend = await startEchoBackend({ name: 'a' });
    t.after(() => backend.kill());
    const proxy = await startObservedProxy({
      upstream: backend.address,
      listener: { tls: mutualTls(certs, { requireClientCert: false, peerLabel: 'cn' }) },
    });
    t.after(() => proxy.close());
    const withCert = echoClient(`localhost:${proxy.port}`, {
      credentials: grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert),
    });
    const withoutCert = echoClient(`localhost:${proxy.port}`, {
      credentials: grpc.credentials.createSsl(certs.ca),
    });
    try {
      for (let i = 0; i < 3; i++) await echoUnary(withCert, {});
      await echoUnary(withoutCert, {});
    } finally {
      withCert.close();
      withoutCert.close();
    }
    const { text } = await proxy.observability.metrics();
    const series = text
      .split('\n')
      .filter((l) => l.startsWith('switchyard_peer_calls_total{'))
      .sort();
    assert.deepEqual(series, [
      'switchyard_peer_calls_total{listener="main",peer="",grpc_code="OK"} 1',
      'switchyard_peer_calls_total{listener="main",peer="switchyard-test-client",grpc_code="OK"} 3',
    ]);
  });
});
