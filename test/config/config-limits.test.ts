// Limits on what a config file may ask for: a file over 16 MiB is refused unread; aliases that
// would multiply the document and nesting that would run the stack out are refused, with where.
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configValidators } from '../../proxy/config-validators.js';
import { loadConfig, parseConfig, type LoadConfigOptions } from '../../config/load-config.js';
import { FILE, lines, rejection } from '../support/rejected-config.js';

const OPTIONS: LoadConfigOptions = { validators: configValidators, env: {} };
/** Generous: each of these takes seconds on a busy machine. */
const BOUND = { timeout: 120_000 };

void describe('limits on what a file may ask for', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-config-limits-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it('refuses a file over 16 MiB without reading it', async () => {
    const file = join(dir, 'huge.yaml');
    await writeFile(file, '');
    // Sparse: 17 MiB of nothing on disk.
    await truncate(file, 17 << 20);
    await assert.rejects(loadConfig(file, OPTIONS), {
      name: 'ConfigError',
      code: 'SWY_ERR_CONFIG_TOO_LARGE',
      message: `${file}: the config file is 17.0 MiB; the limit is 16 MiB`,
    });
    assert.throws(() => parseConfig(' '.repeat((16 << 20) + 1), FILE, OPTIONS), {
      code: 'SWY_ERR_CONFIG_TOO_LARGE',
      message: `${FILE}: the config file is 16.0 MiB; the limit is 16 MiB`,
    });
  });

  void it('refuses aliases that multiply the document', BOUND, () => {
    // 1,000 keys written once, used 200 times: 200,000 values to check from a 20 KB file.
    const text = [
      'x-listener: &l',
      '  address: 127.0.0.1:0',
      ...lines(1_000, (i) => `  extra${i}: ${i}`),
      `listeners: [${lines(200, () => '*l').join(', ')}]`,
      'clusters: { main: { target: "127.0.0.1:1" } }',
      '',
    ].join('\n');
    const err = rejection(text);
    assert.equal(err.issues.length, 1);
    // 2,213 values written (keys included); the 60th alias goes past 10 times that plus 100,000.
    assert.equal(
      err.message,
      'big.yaml:1003:249: aliases expand this file to more than 122130 values (10 times the 2213 written, plus 100000)',
    );
    assert.match(
      rejection('a: &a [1, *a]\n').message,
      /^big\.yaml:1:11: alias \*a is inside the value it names/,
    );
  });

  void it('refuses nesting deeper than 100 levels, however deep', BOUND, () => {
    for (const depth of [101, 5_000, 100_000, 100_000]) {
      const err = rejection(`listeners: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
      assert.equal(err.message, 'big.yaml:1:111: the document nests deeper than 100 levels');
    }
    const dashes = rejection(`listeners:\n${'- '.repeat(200)}x\n`);
    assert.equal(dashes.message, 'big.yaml:2:199: the document nests deeper than 100 levels');
  });
});
