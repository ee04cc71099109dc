// `switchyard validate` and `switchyard --config` on files that are too big or too broken:
// a multi-MB file with 120,000 problems is checked in bounded time and reported as its first
// 100 problems and a count; a file over the size limit is refused with the file and the limit.
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runSwitchyard } from '../support/switchyard-process.js';
import { hostileConfig } from '../support/hostile-config.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-big-'));
});
after(() => rm(dir, { recursive: true, force: true }));

void describe('switchyard on big config files', () => {
  // The bound is generous: the file takes seconds; before, it ran for many minutes.
  void it(
    'validate checks a 2.6 MB file with 120,000 problems and lists 100',
    { timeout: 200_000 },
    async () => {
      const file = join(dir, 'hostile.yaml');
      const text = hostileConfig({ unknownKeys: 20_000, unknownClusterRoutes: 100_000 });
      assert.ok(text.length > 2_500_000, `${text.length} bytes`);
      await writeFile(file, text);
      const result = await runSwitchyard(['validate', file], { timeoutMs: 180_000 });
      assert.equal(result.code, 2, result.stderr.slice(0, 2_000));
      assert.equal(result.stdout, '');
      const out = result.stderr.trimEnd().split('\n');
      assert.equal(out.length, 101);
      assert.match(out[0], /^.*hostile\.yaml:5:1 unknown0: unknown key "unknown0" \(expected /);
      assert.equal(out[100], `${file}: and 119900 more problems`);
    },
  );

  void it('refuses a file over 16 MiB, naming the file and the limit', async () => {
    const file = join(dir, 'huge.yaml');
    await writeFile(file, '');
    await truncate(file, 20 << 20);
    for (const args of [
      ['validate', file],
      ['--config', file],
    ]) {
      const result = await runSwitchyard(args, { timeoutMs: 60_000 });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr, `${file}: the config file is 20.0 MiB; the limit is 16 MiB\n`);
    }
  });
});
