// Properties of the `grpc-timeout` header: what the proxy writes is always a valid header that
// never shortens the deadline (and rounds it up by less than one unit), what it reads is exactly
// the gRPC grammar (1 to 8 digits and a unit), and nothing else is accepted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatGrpcTimeout, parseGrpcTimeout } from '../../grpc/grpc-timeout.js';
import { FUZZ_TEST, fuzzParams, stringFrom } from '../support/fuzz.js';

const HEADER = /^\d{1,8}[HMSmun]$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1 };

void test(
  'a formatted grpc-timeout is valid, parses back exactly below 10^8 ms, and never shortens the deadline',
  FUZZ_TEST,
  () => {
    const ms = fc.oneof(
      fc.integer({ min: 0, max: 99_999_999 }),
      fc.double({ min: 0, max: 1e8, noNaN: true }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.double({ min: 0, max: 1e300, noNaN: true }),
    );
    fc.assert(
      fc.property(ms, (value) => {
        const text = formatGrpcTimeout(value);
        assert.match(text, HEADER, `${value}`);
        const back = parseGrpcTimeout(text)!;
        // The largest header, 99999999M, is about 190 years: longer deadlines are capped there.
        const capped = Math.min(value, 99_999_999 * 60_000);
        assert.ok(back >= capped, `${value} → ${text} → ${back}`);
        assert.ok(back - capped <= UNIT_MS[text.at(-1)!], `${value} → ${text} → ${back}`);
        if (Number.isInteger(value) && value < 100_000_000) assert.equal(back, value);
      }),
      fuzzParams(14_101, 5_000),
    );
  },
);

void test(
  'formatGrpcTimeout writes a valid header for any number, even a nonsensical one',
  FUZZ_TEST,
  () => {
    fc.assert(
      fc.property(fc.double(), (value) => {
        assert.match(formatGrpcTimeout(value), HEADER, `${value}`);
      }),
      fuzzParams(14_102, 2_000, {
        examples: [
          [Number.NaN],
          [-1],
          [-0],
          [Number.POSITIVE_INFINITY],
          [Number.NEGATIVE_INFINITY],
        ],
      }),
    );
  },
);

void test(
  'parseGrpcTimeout accepts exactly 1 to 8 digits and a unit, and reads them exactly',
  FUZZ_TEST,
  () => {
    const units: Record<string, number> = {
      H: 3_600_000,
      M: 60_000,
      S: 1_000,
      m: 1,
      u: 0.001,
      n: 0.000_001,
    };
    const text = fc.oneof(
      fc
        .tuple(fc.stringMatching(/^\d{1,8}$/), fc.constantFrom(...Object.keys(units)))
        .map(([d, u]) => d + u),
      stringFrom('0123456789HMSmunhs +-.e', 12),
      fc.string({ maxLength: 12, unit: 'binary' }),
    );
    fc.assert(
      fc.property(text, (value) => {
        const ms = parseGrpcTimeout(value);
        if (!HEADER.test(value)) {
          assert.equal(ms, undefined, value);
          return;
        }
        assert.equal(ms, Number(value.slice(0, -1)) * units[value.at(-1)!], value);
      }),
      fuzzParams(14_103, 5_000),
    );
    assert.equal(parseGrpcTimeout(['1S']), undefined);
    assert.equal(parseGrpcTimeout(undefined), undefined);
  },
);

void test('found by the properties above', () => {
  // NaN was written as "NaNm", which no server reads as a timeout.
  assert.equal(formatGrpcTimeout(Number.NaN), '0m');
  assert.equal(formatGrpcTimeout(Number.POSITIVE_INFINITY), '99999999M');
});
