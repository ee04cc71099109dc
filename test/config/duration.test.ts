// Durations in the config: units, combinations, bare numbers, and the text they print as.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../config/duration.js';

test('duration strings in ms, s, m and h, combined and fractional', () => {
  const unit = { bareNumbers: 'zero-only' } as const;
  assert.equal(parseDuration('250ms', unit), 250);
  assert.equal(parseDuration('5s', unit), 5_000);
  assert.equal(parseDuration('1m30s', unit), 90_000);
  assert.equal(parseDuration('1h', unit), 3_600_000);
  assert.equal(parseDuration('1.5s', unit), 1_500);
  assert.equal(parseDuration(' 2m ', unit), 120_000);
  assert.equal(parseDuration('0s', unit), 0);
});

test('bare numbers: 0 only for unit durations, milliseconds for …Ms keys', () => {
  assert.equal(parseDuration(0, { bareNumbers: 'zero-only' }), 0);
  assert.equal(
    parseDuration(5, { bareNumbers: 'zero-only' }),
    '5 needs a unit: write "5s" or "5ms" (units: ms, s, m, h)',
  );
  assert.equal(parseDuration(5, { bareNumbers: 'ms' }), 5);
  assert.equal(parseDuration('5s', { bareNumbers: 'ms' }), 5_000);
  assert.equal(
    parseDuration(1.5, { bareNumbers: 'ms' }),
    'must be a whole number of milliseconds, got 1.5',
  );
  assert.equal(parseDuration(-1, { bareNumbers: 'ms' }), 'must not be negative, got -1');
});

test('what is not a duration says so', () => {
  const unit = { bareNumbers: 'zero-only' } as const;
  for (const text of ['5', '5 s', 's', '5sec', '1d', '-5s', '']) {
    assert.equal(
      parseDuration(text, unit),
      `"${text}" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")`,
    );
  }
  assert.equal(parseDuration('0.5ms', unit), '"0.5ms" is not a whole number of milliseconds');
  assert.equal(
    parseDuration(true, unit),
    'must be a duration such as "250ms", "5s" or "1m", got boolean true',
  );
});

test('formatDuration prints exact text that parses back', () => {
  for (const [ms, text] of [
    [0, '0s'],
    [250, '250ms'],
    [1_500, '1s500ms'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_723_004, '1h2m3s4ms'],
  ] as const) {
    assert.equal(formatDuration(ms), text);
    assert.equal(parseDuration(text, { bareNumbers: 'zero-only' }), ms);
  }
});
