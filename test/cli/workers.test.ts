// Many cores: --workers N runs N processes sharing the listeners; the primary resolves and
// health-checks once for all of them, reloads them together, merges their metrics, restarts
// one that dies, and drains them all on SIGTERM.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ConsulDouble } from '../support/consul-double.js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import { HealthStatusTable } from '../support/grpc-health.js';
import { delay, eventually } from '../support/proxy-harness.js';
import { closedPort } from '../support/raw-upstream.js';
import { startSwitchyard, type RunningSwitchyard } from '../support/switchyard-process.js';

async function startFleet(
  config: string,
  workers = 2,
): Promise<{ proxy: RunningSwitchyard; dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-'));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, config);
  const proxy = await startSwitchyard(['--config', file, '--workers', String(workers)]);
  try {
    // Each worker is a node process loading the whole proxy: seconds apiece on a busy machine,
    // more under coverage. A readiness wait, so generous.
    await eventually(
      () => proxy.lines.some((l) => l.includes('"workers serving"')),
      30_000,
      'the workers',
    );
  } catch (err) {
    // Not left running: a fleet nobody stops keeps the test file from ever ending.
    await proxy.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { proxy, dir, file };
}

/** Several channels, so the primary hands connections to every worker. */
function clients(target: string, n: number): EchoServiceClient[] {
  // Distinct channel options keep grpc-js from sharing one subchannel between them.
  return Array.from({ length: n }, (_, i) =>
    echoClient(target, { channelOptions: { 'test.channel': i } }),
  );
}

async function callAll(cs: EchoServiceClient[], perClient: number): Promise<string[]> {
  const results = await Promise.all(
    cs.flatMap((c) =>
      Array.from({ length: perClient }, () => echoUnary(c, {}, { deadlineMs: 5_000 })),
    ),
  );
  return results.filter((r) => r.status.code !== grpc.status.OK).map((r) => r.status.details);
}

describe('worker processes', () => {
  it('serves from every worker and merges their metrics on the admin listener', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    let started = false;
    t.after(() => {
      if (!started) backend.kill();
    });
    const [port, admin] = [await closedPort(), await closedPort()];
    const { proxy, dir } = await startFleet(
      `listeners:\n  - address: 127.0.0.1:${port}\nadmin: { address: 127.0.0.1:${admin} }\nclusters:\n  main: { target: "${backend.address}" }\n`,
    );
    const cs = clients(`127.0.0.1:${port}`, 8);
    started = true;
    t.after(async () => {
      cs.forEach((c) => c.close());
      assert.equal(await proxy.stop(), 0);
      backend.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    assert.deepEqual(await callAll(cs, 25), []);
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    const okBy = (worker: string) =>
      metrics
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('switchyard_calls_total{') &&
            l.includes(`worker="${worker}"`) &&
            l.includes('grpc_code="OK"'),
        )
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    assert.ok(okBy('1') > 0 && okBy('2') > 0, `calls per worker: ${okBy('1')}, ${okBy('2')}`);
    assert.equal(okBy('1') + okBy('2'), 200);
    const ready = await fetch(`http://127.0.0.1:${admin}/ready`);
    assert.equal(ready.status, 200);
    const view = (await (await fetch(`http://127.0.0.1:${admin}/clusters`)).json()) as {
      clusters: { endpoints: { key: string; calls: number; state: string }[] }[];
    };
    assert.equal(view.clusters[0].endpoints[0].calls, 200);
    assert.equal(view.clusters[0].endpoints[0].state, 'ready');
  });

  it('runs one Consul watch and one health checker for all workers', async (t) => {
    const tables = [new HealthStatusTable(), new HealthStatusTable()];
    const bs = await Promise.all(
      ['a', 'b'].map((name, i) => startEchoBackend({ name, setup: (s) => tables[i].addTo(s) })),
    );
    const consul = await ConsulDouble.start();
    let started = false;
    t.after(async () => {
      if (started) return;
      bs.forEach((b) => b.kill());
      await consul.close();
    });
    bs.forEach((b) => consul.register({ id: b.name, service: 'echo', port: b.port }));
    const port = await closedPort();
    const { proxy, dir } = await startFleet(
      [
        'listeners:',
        `  - address: 127.0.0.1:${port}`,
        'clusters:',
        '  main:',
        `    target: consul://${consul.address}/echo`,
        '    healthCheck: { interval: 200ms, timeout: 1s, unhealthyThreshold: 1, healthyThreshold: 1 }',
        '',
      ].join('\n'),
      3,
    );
    const cs = clients(`127.0.0.1:${port}`, 6);
    started = true;
    t.after(async () => {
      cs.forEach((c) => c.close());
      await proxy.stop();
      bs.forEach((b) => b.kill());
      await consul.close();
      rmSync(dir, { recursive: true, force: true });
    });
    assert.deepEqual(await callAll(cs, 10), []);
    // One blocking query held open, not one per worker.
    await eventually(() => consul.held === 1, 3_000, 'a blocking query');
    await delay(500);
    assert.equal(consul.held, 1);
    const before = tables[0].checks;
    await delay(2_000);
    const checks = tables[0].checks - before;
    // One checker every 200 ms (±10 %) is about 10 in 2 s; one per process would be 40.
    assert.ok(checks >= 6 && checks <= 14, `${checks} health checks in 2 s`);
    // Its verdict reaches every worker: no call goes to the endpoint that stopped serving.
    tables[0].set('', 'NOT_SERVING');
    await delay(600);
    const results = await Promise.all(
      cs.flatMap((c) => Array.from({ length: 10 }, () => echoUnary(c, {}))),
    );
    assert.ok(results.every((r) => r.status.code === grpc.status.OK));
    assert.deepEqual([...new Set(results.map((r) => r.response?.backend))], ['b']);
  });

  it('reopens the access-log file in every worker on SIGHUP: a rotation by rename loses no line', async (t) => {
    const backend = await startEchoBackend({ name: 'b' });
    let started = false;
    t.after(() => {
      if (!started) backend.kill();
    });
    const port = await closedPort();
    // The path is relative to the config file: in the fleet's folder.
    const { proxy, dir, file } = await startFleet(
      `listeners:\n  - address: 127.0.0.1:${port}\naccessLog: { sample: 1, destination: access.log }\nclusters:\n  main: { target: "${backend.address}" }\n`,
    );
    const cs = clients(`127.0.0.1:${port}`, 6);
    started = true;
    t.after(async () => {
      cs.forEach((c) => c.close());
      await proxy.stop('SIGKILL');
      backend.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    const log = join(dir, 'access.log');
    const lines = (path: string) =>
      existsSync(path)
        ? readFileSync(path, 'utf8')
            .split('\n')
            .filter((l) => l !== '').length
        : 0;
    assert.deepEqual(await callAll(cs, 5), []);
    // logrotate's default: rename the file, then signal.
    renameSync(log, `${log}.1`);
    proxy.child.kill('SIGHUP');
    // The primary says so once every worker has reloaded, and so reopened its log.
    await eventually(
      () => proxy.lines.some((l) => l.includes(`${file} reloaded`)),
      10_000,
      'the reload',
    );
    assert.deepEqual(await callAll(cs, 5), []);
    // Each worker flushes its log as it exits.
    assert.equal(await proxy.stop('SIGTERM'), 0);
    assert.equal(lines(`${log}.1`), 30, 'the calls before the rotation, in the renamed file');
    assert.equal(lines(log), 30, 'the calls after it, in a new file of the same name');
  });

  it('reloads every worker on SIGHUP, restarts a worker that dies, and drains on SIGTERM', async (t) => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startEchoBackend({ name })));
    let started = false;
    t.after(() => {
      if (started) return;
      a.kill();
      b.kill();
    });
    const port = await closedPort();
    const config = (target: string) =>
      `listeners:\n  - address: 127.0.0.1:${port}\nclusters:\n  main: { target: "${target}" }\n`;
    const { proxy, dir, file } = await startFleet(config(a.address));
    const cs = clients(`127.0.0.1:${port}`, 6);
    started = true;
    t.after(async () => {
      cs.forEach((c) => c.close());
      await proxy.stop('SIGKILL');
      a.kill();
      b.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    assert.deepEqual(await callAll(cs, 5), []);
    writeFileSync(file, config(b.address));
    proxy.child.kill('SIGHUP');
    await eventually(
      async () => {
        const rs = await Promise.all(cs.map((c) => echoUnary(c, {})));
        return rs.every((r) => r.response?.backend === 'b');
      },
      5_000,
      'every worker to use the new config',
    );

    // Kill one worker: the primary starts another; the clients reconnect.
    const workerPids = await workerProcessIds(proxy.child.pid!);
    assert.equal(workerPids.length, 2);
    process.kill(workerPids[0], 'SIGKILL');
    await eventually(
      () => proxy.lines.some((l) => l.includes('exited unexpectedly')),
      5_000,
      'the crash to be noticed',
    );
    await eventually(
      async () => (await workerProcessIds(proxy.child.pid!)).length === 2,
      10_000,
      'a new worker',
    );
    await eventually(
      async () => (await callAll(cs, 2)).length === 0,
      10_000,
      'calls to succeed again',
    );

    const inFlight = echoUnary(cs[0], { delayMs: 800 });
    await delay(200);
    proxy.child.kill('SIGTERM');
    assert.equal((await inFlight).status.code, grpc.status.OK);
    assert.equal(await proxy.exited, 0);
  });
});

/** The worker processes of a primary (its children running node). */
async function workerProcessIds(primary: number): Promise<number[]> {
  const { readFileSync, readdirSync } = await import('node:fs');
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === primary) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}
