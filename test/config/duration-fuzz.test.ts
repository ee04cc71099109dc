// Properties of config durations: every whole number of milliseconds a setting takes prints as
// text that parses back to it, a duration written in parts (fractions included) is the exact sum
// of its parts, and any other value is a message, never a throw or a number that is not a
// whole, finite count of milliseconds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../../config/duration.js';
import { FUZZ_TEST, fuzzParams, stringFrom } from '../support/fuzz.js';

const UNITS = { zero: { bareNumbers: 'zero-only' }, ms: { bareNumbers: 'ms' } } as const;
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

void test(
  'formatDuration prints every duration a setting takes as text that parses back to it',
  FUZZ_TEST,
  () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => {
        const text = formatDuration(ms);
        assert.equal(parseDuration(text, UNITS.zero), ms, text);
        assert.equal(parseDuration(text, UNITS.ms), ms, text);
        assert.equal(parseDuration(ms, UNITS.ms), ms);
      }),
      fuzzParams(14_201, 5_000, { examples: [[0], [1], [999], [1_000], [MAX_DURATION_MS]] }),
    );
  },
);

/** A part such as `250ms`, `1.5s` or `0.25h`, and its exact value in milliseconds. */
const part: fc.Arbitrary<[string, number]> = fc
  .tuple(fc.constantFrom<Unit>('h', 'm', 's', 'ms'), fc.nat(100_000), fc.nat(3))
  .map(([unit, n, decimals]) => {
    // n / 10^decimals of `unit`, kept only when that is a whole number of milliseconds.
    const scale = 10 ** decimals;
    const ms = (n * UNIT_MS[unit]) / scale;
    const whole = Math.floor(n / scale);
    const fraction = String(n % scale).padStart(decimals, '0');
    const text = decimals === 0 ? `${n}${unit}` : `${whole}.${fraction}${unit}`;
    return [text, ms] as [string, number];
  })
  .filter(([, ms]) => Number.isInteger(ms));

void test('a duration written in parts is the exact sum of its parts', FUZZ_TEST, () => {
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
      const text = parts.map(([t]) => t).join('');
      const sum = parts.reduce((total, [, ms]) => total + ms, 0);
      assert.equal(parseDuration(text, UNITS.zero), sum, text);
    }),
    fuzzParams(14_202, 5_000),
  );
});

void test(
  'any other value is a message, and any number returned is whole and finite',
  FUZZ_TEST,
  () => {
    const value = fc.oneof(
      stringFrom('0123456789.hms ', 30),
      fc.string({ maxLength: 30, unit: 'binary' }),
      fc.stringMatching(/^\d{1,400}(?:\.\d{1,30})?(?:ms|s|m|h)$/),
      fc.double(),
      fc.anything(),
    );
    fc.assert(
      fc.property(value, fc.constantFrom(UNITS.zero, UNITS.ms), (v, options) => {
        const ms = parseDuration(v, options);
        if (typeof ms === 'string') {
          assert.ok(ms.length > 0);
          return;
        }
        assert.ok(Number.isSafeInteger(ms) && ms >= 0, `${String(v)} → ${ms}`);
      }),
      fuzzParams(14_203, 5_000),
    );
  },
);

void test('found by the properties above', () => {
  // Floating point made 9148.2h 32933519999.999996 ms: "not a whole number of milliseconds".
  assert.equal(parseDuration('9148.2h', UNITS.zero), 32_933_520_000);
  assert.equal(
    parseDuration('0.0000001h', UNITS.zero),
    '"0.0000001h" is not a whole number of milliseconds',
  );
  assert.equal(parseDuration('1.50000000000000000000s', UNITS.zero), 1_500);
  // 400 digits of hours were Infinity, and 2^53 ms a number that no longer counts milliseconds.
  assert.match(
    String(parseDuration(`${'9'.repeat(400)}h`, UNITS.zero)),
    /far longer than any setting takes/,
  );
  assert.match(String(parseDuration(2 ** 53, UNITS.ms)), /far longer than any setting takes/);
  assert.equal(parseDuration(`${'0'.repeat(1_000)}5s`, UNITS.zero), 5_000);
});
