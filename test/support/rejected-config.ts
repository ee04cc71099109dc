// The ConfigError a config text is rejected with, and generated lines, for tests of what the
// loader reports about big and broken files.
import assert from 'node:assert/strict';
import { configValidators } from '../../proxy/config-validators.js';
import { ConfigError } from '../../config/config-error.js';
import { parseConfig } from '../../config/load-config.js';

/** The name files are checked under in these tests. */
export const FILE = 'big.yaml';

/** Checks `text` (no environment variables set) and returns the error; fails if it is accepted. */
export function rejection(text: string): ConfigError {
  try {
    parseConfig(text, FILE, { validators: configValidators, env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('the config was accepted');
}

/** `n` lines made by `line`. */
export function lines(n: number, line: (i: number) => string): string[] {
  return Array.from({ length: n }, (_, i) => line(i));
}
