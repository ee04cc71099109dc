// Reloads of big, hostile config files while grpc-js clients call without pause: the file is
// checked away from the loop that serves calls, so calls keep completing during the reload; the
// rejection reports 100 problems and a count, in one log entry; reload triggers that arrive
// while a reload runs are folded into at most one more, which reads the newest file.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { hostileConfig } from '../support/hostile-config.js';
import { delay, eventually } from '../support/proxy-harness.js';
import { closedPort } from '../support/raw-upstream.js';
import { startSwitchyard, type RunningSwitchyard } from '../support/switchyard-process.js';
import { adminRequest } from '../observability/observed-proxy.js';

/** Loading these files takes seconds on a busy machine; before, minutes. */
const BOUND = { timeout: 300_000 };
const POST = { method: 'POST', timeoutMs: 200_000 };

interface Served {
  readonly proxy: RunningSwitchyard;
  readonly admin: string;
  readonly backend: EchoBackend;
  /** Writes the config file as editors do (a rename, so no half-written file is read). */
  write(text: string): void;
  /** The config text: listener, admin listener and cluster `main`, plus `extra` lines. */
  config(extra?: readonly string[], more?: Parameters<typeof hostileConfig>[0]): string;
  /** Log lines so far that contain `text`. */
  count(text: string): number;
}

async function serve(t: TestContext): Promise<Served> {
  const backend = await startEchoBackend({ name: 'a' });
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-scale-'));
  const file = join(dir, 'switchyard.yaml');
  const [port, adminPort] = [await closedPort(), await closedPort()];
  const config = (extra: readonly string[] = [], more = {}) =>
    hostileConfig({
      listen: `127.0.0.1:${port}`,
      target: backend.address,
      extra: [`admin: { address: "127.0.0.1:${adminPort}" }`, ...extra],
      ...more,
    });
  const write = (text: string) => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  write(config());
  const proxy = await startSwitchyard(['--config', file]);
  t.after(async () => {
    await proxy.stop('SIGKILL');
    backend.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  await eventually(() => proxy.lines.some((l) => l.includes('admin listening')), 10_000, 'admin');
  return {
    proxy,
    admin,
    backend,
    write,
    config,
    count: (text) => proxy.lines.filter((l) => l.includes(text)).length,
  };
}

interface Call {
  readonly start: number;
  readonly end: number;
}

/** Calls from `loops` concurrent callers until stopped; every call and every failure is kept. */
function steadyLoad(target: string, loops: number) {
  const client = echoClient(target);
  const calls: Call[] = [];
  const failures: string[] = [];
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const start = Date.now();
      const r = await echoUnary(client, {}, { deadlineMs: 60_000 });
      calls.push({ start, end: Date.now() });
      if (r.status.code !== grpc.status.OK) failures.push(`${r.status.code} ${r.status.details}`);
    }
  };
  const running = Array.from({ length: loops }, loop);
  return {
    calls,
    failures,
    /** Calls that started and ended between `from` and `to`. */
    within: (from: number, to: number) =>
      calls.filter((c) => c.start >= from && c.end <= to).length,
    async stop() {
      stop = true;
      await Promise.all(running);
      client.close();
    },
  };
}

void describe('reloading hostile config files under load', () => {
  void it(
    'keeps serving while 20,000 unknown keys or 100,000 bad routes are checked',
    BOUND,
    async (t) => {
      const s = await serve(t);
      const load = steadyLoad(s.proxy.addresses.get('main')!, 4);
      t.after(() => load.stop());
      await eventually(() => load.calls.length >= 20, 10_000, 'calls before the reload');

      for (const [what, more, problems] of [
        ['20,000 unknown keys', { unknownKeys: 20_000 }, 20_000],
        ['100,000 routes to unknown clusters', { unknownClusterRoutes: 100_000 }, 100_000],
      ] as const) {
        const rejected = s.count('rejected, the running configuration stays');
        s.write(s.config([], more));
        const from = Date.now();
        const res = await adminRequest(s.admin, '/reload', POST);
        const to = Date.now();
        assert.equal(res.status, 400, res.body.slice(0, 1_000));
        // Calls went on while the file was checked: before, the loop that serves them was busy.
        const served = load.within(from, to);
        assert.ok(served >= 20, `${what}: ${served} calls completed during the reload`);
        const lines = (JSON.parse(res.body) as { error: string }).error.split('\n');
        assert.equal(lines.length, 101, what);
        assert.match(lines[100], new RegExp(`: and ${problems - 100} more problems$`));
        assert.deepEqual(load.failures, [], what);
        // One log entry per rejected load, of 100 problems (the file watch may have loaded it too).
        await eventually(() => s.count('rejected, the running configuration stays') > rejected);
        const entries = s.proxy.lines.filter((l) => l.includes('rejected, the running'));
        assert.ok(entries.length - rejected <= 2, `${entries.length - rejected} rejections`);
        for (const entry of entries) assert.ok(entry.length < 100_000, `${entry.length} bytes`);
      }

      // A good file still applies, through the same path, and the unchanged cluster is kept.
      s.write(s.config(['shutdownGrace: 2s']));
      const ok = await adminRequest(s.admin, '/reload', POST);
      assert.equal(ok.status, 200, ok.body);
      const summary = JSON.parse(ok.body) as { clusters: { kept: string[] } };
      assert.deepEqual(summary.clusters.kept, ['main']);
      await load.stop();
      assert.deepEqual(load.failures, []);
    },
  );

  void it(
    'folds triggers that arrive during a reload into one more, which reads the newest file',
    BOUND,
    async (t) => {
      const s = await serve(t);
      // Whichever run ends first, a run asked for during another waits for it: the counts below
      // hold however long a load takes.
      s.write(s.config([], { unknownKeys: 20_000 }));
      // The file watch loads it first; wait for that, so the file is unchanged from here on.
      await eventually(() => s.count('rejected, the running') === 1, 200_000, 'the watched change');

      // Three triggers at once: a signal and two admin requests. Two loads at most, and each
      // request gets the result of the load it joined.
      const loads = s.count('"msg":"reloading');
      const rejections = s.count('rejected, the running');
      s.proxy.child.kill('SIGHUP');
      const [r1, r2] = await Promise.all([
        adminRequest(s.admin, '/reload', POST),
        adminRequest(s.admin, '/reload', POST),
      ]);
      await eventually(() => s.count('rejected, the running') >= rejections + 2, 10_000);
      // Both answers are in, so every load has ended; give a third one's log line time to arrive.
      await delay(1_000);
      assert.equal(s.count('rejected, the running') - rejections, 2);
      assert.equal(s.count('"msg":"reloading') - loads, 2);
      assert.equal(r1.status, 400);
      assert.equal(r2.status, 400);
      assert.equal(r1.body, r2.body);
      assert.match(r1.body, /and 19900 more problems/);

      // A trigger during a reload of the old file gets the newest file, not the old one again.
      const b = await startEchoBackend({ name: 'b' });
      t.after(() => b.kill());
      const started = s.count('"msg":"reloading');
      s.proxy.child.kill('SIGHUP');
      await eventually(() => s.count('"msg":"reloading') > started, 10_000, 'the second SIGHUP');
      s.write(s.config().replace(s.backend.address, b.address));
      const res = await adminRequest(s.admin, '/reload', POST);
      assert.equal(res.status, 200, res.body.slice(0, 1_000));
      assert.deepEqual(
        (JSON.parse(res.body) as { clusters: { changed: string[] } }).clusters.changed,
        ['main'],
      );
      const client = echoClient(s.proxy.addresses.get('main')!);
      t.after(() => client.close());
      const r = await echoUnary(client, {});
      assert.equal(r.response?.backend, 'b');
      assert.equal(s.count('"msg":"reloading') - started, 2);
    },
  );
});
