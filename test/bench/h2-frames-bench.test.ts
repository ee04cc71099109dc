// The HTTP/2 frame benchmark runs in process and through `npm run bench -- --only h2-frames`,
// and reports parse and write cost per call and the copy-or-reference table (no timing asserted).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchDocument } from '../../bench/bench-document.js';
import { h2FramesBench } from '../../bench/h2-frames-bench.js';

test('h2FramesBench() measures parse and write per call and copy against reference per size', async () => {
  const result = await h2FramesBench({
    calls: 2_000,
    runs: 3,
    copySizes: [1024, 16_384],
    copyTurns: 50,
  });
  assert.equal(result.callsPerRun, 2_000);
  for (const cost of [result.parse, result.write]) {
    assert.ok(cost.nsPerCall > 0 && cost.nsPerCallBest > 0 && cost.nsPerFrame > 0);
    assert.ok(cost.nsPerCallBest <= cost.nsPerCall);
  }
  assert.deepEqual(
    result.copyOrReference.map((r) => r.bytes),
    [1024, 16_384],
  );
  for (const row of result.copyOrReference) assert.ok(row.copyUs > 0 && row.referenceUs > 0);
});

test('npm run bench -- --quick --only h2-frames writes the result and a table', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-h2-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'h2.json');
  const run = spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('../../bench/run.js', import.meta.url)),
      '--quick',
      '--only',
      'h2-frames',
      '--json',
      json,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(run.status, 0, `${run.stderr}\n${run.stdout}`);
  const doc = JSON.parse(await readFile(json, 'utf8')) as BenchDocument;
  assert.deepEqual(Object.keys(doc.scenarios), ['h2-frames']);
  const r = doc.scenarios['h2-frames'];
  assert.equal(r.kind, 'h2-frames');
  assert.match(run.stdout, /### h2-frames: .*\n\n\| operation \| ns\/call \(median\)/);
  assert.match(run.stdout, /\| DATA octets \| copy µs \| reference µs \|/);
  assert.deepEqual(doc.problems, []);
});
