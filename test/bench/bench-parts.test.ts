// The benchmark's parts: reading h2load's summary and per-request log, choosing scenarios with
// --only, and the config-loading bench on a small file.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configBench } from '../../bench/config-bench.js';
import { latencyFromLog, parseSummary } from '../../bench/h2load.js';
import { selectScenarios } from '../../bench/scenarios.js';

const SUMMARY = `finished in 538.71ms, 7226.58 req/s, 327.50KB/s
requests: 3893 total, 3893 started, 3890 done, 3889 succeeded, 1 failed, 3 errored, 0 timeout
status codes: 3889 2xx, 0 3xx, 0 4xx, 1 5xx
traffic: 176.43KB (180662) total, 12.31KB (12607) headers (space savings 95.44%), 57.03KB (58395) data
`;

const sizes = { openStreams: 10_000, connections: 10, slowBytes: 1 << 30, cancelStreams: 2_000 };

void describe('h2load output', () => {
  void it('reads counts, rate, status classes and DATA bytes from the summary', () => {
    assert.deepEqual(parseSummary(SUMMARY), {
      seconds: 0.53871,
      rps: 7226.58,
      total: 3893,
      succeeded: 3889,
      failed: 1,
      errored: 3,
      timeouts: 0,
      status: { '2xx': 3889, '3xx': 0, '4xx': 0, '5xx': 1 },
      dataBytes: 58395,
    });
  });

  void it('reads nothing from output that is not a summary', () => {
    const r = parseSummary('-D: value error 0.3\n');
    assert.equal(r.rps, null);
    assert.equal(r.total, 0);
    assert.equal(r.dataBytes, null);
  });

  void it('takes percentiles of the successful requests by nearest rank, in ms', () => {
    // 1,000 successes of 1..1000 µs, plus failures that must not count.
    const lines = Array.from({ length: 1000 }, (_, i) => `1700000000${i}\t200\t${i + 1}`);
    lines.push('1700000001000\t503\t999999', '1700000001001\t-1\t5');
    const l = latencyFromLog(`${lines.reverse().join('\n')}\n`);
    assert.equal(l.count, 1000);
    assert.equal(l.p50Ms, 0.5);
    assert.equal(l.p90Ms, 0.9);
    assert.equal(l.p99Ms, 0.99);
    assert.equal(l.p999Ms, 0.999);
    assert.equal(l.maxMs, 1);
    assert.equal(l.meanMs, 0.501);
  });

  void it('has no percentiles for an empty log', () => {
    assert.deepEqual(latencyFromLog(''), {
      count: 0,
      p50Ms: null,
      p90Ms: null,
      p99Ms: null,
      p999Ms: null,
      maxMs: null,
      meanMs: null,
    });
  });
});

void describe('selectScenarios', () => {
  const names = (only?: string[]) => selectScenarios(only, sizes).map((s) => s.name);

  void it('runs everything by default, in order', () => {
    assert.deepEqual(names(), [
      'unary-small-low',
      'unary-small-high',
      'unary-16k',
      'stream-throughput',
      'open-streams',
      'slow-reader',
      'cancel-streams',
      'stalled-readers',
      'balancer',
      'resolver',
      'hpack',
      'h2-frames',
      'h2-connection',
      'config',
      'observers',
      'gateway',
    ]);
  });

  void it('matches names and dash-separated prefixes, keeping run order', () => {
    assert.deepEqual(names(['resolver', 'unary-small']), [
      'unary-small-low',
      'unary-small-high',
      'resolver',
    ]);
    assert.deepEqual(names(['unary']), ['unary-small-low', 'unary-small-high', 'unary-16k']);
    assert.deepEqual(names(['stream']), ['stream-throughput']);
  });

  void it('names the sizes in the memory scenarios', () => {
    const s = selectScenarios(['open-streams', 'slow-reader', 'cancel-streams'], {
      openStreams: 500,
      connections: 5,
      slowBytes: 32 << 20,
      cancelStreams: 300,
    });
    assert.match(s[0].about, /^500 concurrent .* on 5 connections/);
    assert.match(s[1].about, /^32 MiB streamed/);
    assert.match(s[2].about, /^300 server-streaming calls cancelled/);
  });

  void it('rejects an entry that matches nothing', () => {
    assert.throws(() => names(['unary-small-l']), /no scenario "unary-small-l"/);
  });
});

void describe('config bench', () => {
  void it('loads a generated file in the loader process and reports what it cost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-config-bench-'));
    try {
      const { rows } = await configBench({ dir, sizes: [20_000] });
      assert.equal(rows.length, 1);
      const [row] = rows;
      assert.ok(row.bytes >= 20_000, `${row.bytes} bytes`);
      assert.equal(row.routes, 2 * row.clusters);
      assert.ok(row.clusters > 20, `${row.clusters} clusters`);
      assert.ok(row.ms > 0 && row.cpuMs > 0, JSON.stringify(row));
      // A node process at least; far from a leak.
      assert.ok(row.peakRssMb > 20 && row.peakRssMb < 1_000, `${row.peakRssMb} MiB`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
