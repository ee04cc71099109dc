// `npm run bench` end to end: a --quick run of the h2load and memory scenarios against the real
// switchyard binary writes sane JSON and a table, and leaves no process behind; the in-process
// HPACK scenario starts nothing; bad usage exits 2.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchDocument } from '../../bench/bench-document.js';
import type { LoadScenarioResult, LoadRun } from '../../bench/load-scenario.js';
import type {
  CancelStreamsRun,
  OpenStreamsRun,
  SlowReaderRun,
  StalledReadersRun,
} from '../../bench/memory-scenarios.js';

const RUN_JS = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
const HAS_H2LOAD = spawnSync('h2load', ['--version'], { stdio: 'ignore' }).status === 0;

interface Finished {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the benchmark; SIGKILLs its whole process group after `timeoutMs`. */
function runBench(args: string[], timeoutMs: number): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

/** A process that still runs (a zombie waiting for a reaper does not count). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function assertRun(run: LoadRun | { error: string }, what: string): asserts run is LoadRun {
  assert.ok(!('error' in run), `${what}: ${'error' in run ? run.error : ''}`);
}

void describe('npm run bench', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-bench-test-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it(
    HAS_H2LOAD
      ? 'measures unary calls, held streams and a slow reader direct and through the binary'
      : 'skipped: h2load is not installed (apt-get install nghttp2-client)',
    { skip: !HAS_H2LOAD, timeout: 90_000 },
    async () => {
      const json = join(dir, 'quick.json');
      const result = await runBench(
        [
          '--quick',
          '--only',
          'unary-small-high,stream-throughput,open-streams,slow-reader,cancel-streams,stalled-readers',
          '--streams',
          '500',
          '--cancels',
          '200',
          '--slow-mib',
          '32',
          '--json',
          json,
        ],
        75_000,
      );
      assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
      const doc = JSON.parse(await readFile(json, 'utf8')) as BenchDocument;
      assert.deepEqual(doc.problems, []);
      assert.deepEqual(Object.keys(doc.scenarios), [
        'unary-small-high',
        'stream-throughput',
        'open-streams',
        'slow-reader',
        'cancel-streams',
        'stalled-readers',
      ]);
      assert.equal(doc.meta.node, process.version);
      assert.equal(doc.meta.pinning, null);
      assert.ok(doc.meta.h2load?.includes('nghttp2'));

      for (const name of ['unary-small-high', 'stream-throughput']) {
        const s = doc.scenarios[name] as LoadScenarioResult;
        assertRun(s.direct, `${name} direct`);
        assertRun(s.proxy, `${name} proxy`);
        for (const run of [s.direct, s.proxy]) {
          const what = `${name} via ${run.target}`;
          assert.ok(run.check.ok, `${what}: ${run.check.why}`);
          assert.ok(run.rps > 0, `${what}: rps ${run.rps}`);
          assert.equal(run.errors, 0, what);
          assert.equal(run.completed, run.requested, what);
          const l = run.latency!;
          assert.equal(l.count, run.completed, what);
          assert.ok(l.p50Ms! > 0 && l.p50Ms! <= l.p99Ms! && l.p99Ms! <= l.p999Ms!, what);
        }
        assert.equal(s.proxy.target, 'switchyard');
        assert.ok(s.proxy.cpu.proxyUsPerCall! > 0, `${name}: proxy CPU per call`);
        assert.ok(s.proxy.proxyPeakRssMb! > 10, `${name}: proxy peak RSS`);
        assert.equal(s.direct.cpu.proxyUsPerCall, null);
        const calls = Object.values(s.proxy.backendCalls);
        assert.equal(calls.length, 2);
        assert.ok(
          calls.every((n) => n > 0),
          `${name}: both backends get calls: ${calls.join(', ')}`,
        );
        assert.ok(s.ratio! > 0);
      }
      const stream = doc.scenarios['stream-throughput'] as LoadScenarioResult;
      assertRun(stream.proxy, 'stream proxy');
      assert.ok(stream.proxy.mbPerS > 1, `stream MB/s ${stream.proxy.mbPerS}`);

      const held = doc.scenarios['open-streams'] as { runs: OpenStreamsRun[] };
      assert.deepEqual(
        held.runs.map((r) => [r.target, r.opened, r.backendHeld, r.backendLeft]),
        [
          ['direct', 500, 500, 0],
          ['switchyard', 500, 500, 0],
        ],
      );
      const slow = doc.scenarios['slow-reader'] as { runs: SlowReaderRun[] };
      assert.deepEqual(
        slow.runs.map((r) => [r.target, r.ok, r.grpcStatus]),
        [
          ['direct', true, '0'],
          ['switchyard', true, '0'],
        ],
      );
      assert.ok(slow.runs[1].peakRssMb > 0);
      const stalled = doc.scenarios['stalled-readers'] as { runs: StalledReadersRun[] };
      assert.deepEqual(
        stalled.runs.map((r) => [r.target, r.answered]),
        [
          ['direct', 300],
          ['switchyard', 300],
        ],
      );
      const cancels = doc.scenarios['cancel-streams'] as { runs: CancelStreamsRun[] };
      assert.deepEqual(
        cancels.runs.map((r) => [r.target, r.cancelled, r.failed]),
        [
          ['direct', 200, 0],
          ['switchyard', 200, 0],
        ],
      );

      assert.match(result.stdout, /\| unary-small-high \| switchyard \|/);
      assert.match(result.stderr, /\[bench\] unary c=16 m=8 via switchyard: [\d,]+ req\/s/);

      const started = doc.processes;
      assert.ok(started.some((p) => p.name === 'backend'));
      assert.ok(started.filter((p) => p.name === 'switchyard').length >= 4);
      assert.ok(started.some((p) => p.name === 'h2load'));
      const left = started.filter((p) => running(p.pid));
      assert.deepEqual(left, [], 'every process the benchmark started has exited');
    },
  );

  void it('runs the in-process HPACK scenario with no backend, proxy or h2load', async () => {
    const json = join(dir, 'hpack.json');
    const result = await runBench(['--quick', '--only', 'hpack', '--json', json], 60_000);
    assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
    const doc = JSON.parse(await readFile(json, 'utf8')) as BenchDocument;
    assert.deepEqual(doc.processes, []);
    const hpack = doc.scenarios.hpack;
    assert.equal(hpack.kind, 'hpack');
    const rows = hpack.kind === 'hpack' ? hpack.result.rows : [];
    assert.deepEqual(
      rows.map((r) => r.block),
      ['request', 'request + auth + trace id', 'response headers', 'trailers'],
    );
    for (const r of rows) {
      assert.ok(r.decodeNs > 0 && r.encodeNs > 0 && r.newConnectionNs > 0, r.block);
      // With the tables warm a block is a fraction of its first encoding.
      assert.ok(r.bytes < r.firstBytes, `${r.block}: ${r.bytes} vs ${r.firstBytes} bytes`);
    }
    assert.match(result.stdout, /\| request \| 9 \| 16 \(138\) \|/);
  });

  void it('prints its usage with --help and exits 2 on an unknown flag or scenario', async () => {
    const help = await runBench(['--help'], 10_000);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--only LIST/);
    const bad = await runBench(['--no-such-flag'], 10_000);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no-such-flag/);
    const unknown = await runBench(['--only', 'nonsense'], 10_000);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no scenario "nonsense"/);
  });
});
