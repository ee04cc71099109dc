// Properties of no_proxy host patterns: a list of entries written any of the accepted ways matches
// exactly what a plain reference model says it should (names by label suffix, addresses as
// 128-bit numbers with IPv4 as ::ffff:a.b.c.d, ports exactly), and any text at all is read
// without a throw, each entry becoming a pattern or a problem.
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { HostPatternList, type HostCandidate } from '../../common/host-patterns.js';
import { FUZZ_TEST, fuzzParams, mutated, stringFrom } from '../support/fuzz.js';

// ---- The reference model: written from the rules in host-patterns.ts's comment, not its code.

/** An address as a 128-bit number; IPv4 as its IPv4-mapped IPv6 form. */
function addressBits(address: string): bigint {
  if (isIP(address) === 4) {
    const v4 = address.split('.').reduce((n, octet) => n * 256n + BigInt(octet), 0n);
    return (0xffffn << 32n) | v4;
  }
  // A dotted IPv4 tail (`::ffff:10.0.0.1`) is the last two groups.
  const text = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    [
      [a, b],
      [c, d],
    ]
      .map(([hi, lo]) => ((Number(hi) << 8) | Number(lo)).toString(16))
      .join(':'),
  );
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string) =>
    part === '' ? [] : part.split(':').map((g) => BigInt(`0x${g}`));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const fill = 8 - left.length - right.length;
  const all = [...left, ...Array<bigint>(fill).fill(0n), ...right];
  return all.reduce((n, g) => (n << 16n) | g, 0n);
}

type Spec =
  | { kind: 'any'; port?: number }
  | { kind: 'domain'; domain: string; port?: number }
  | { kind: 'cidr'; address: string; bits: number; port?: number };

function modelMatches(spec: Spec, c: HostCandidate): boolean {
  if (spec.port !== undefined && spec.port !== c.port) return false;
  switch (spec.kind) {
    case 'any':
      return true;
    case 'domain':
      return c.names.some((raw) => {
        if (isIP(raw) !== 0) return false;
        const name = raw.toLowerCase().replace(/\.$/, '');
        return name === spec.domain || name.endsWith(`.${spec.domain}`);
      });
    case 'cidr': {
      const width = isIP(spec.address) === 4 ? spec.bits + 96 : spec.bits;
      const shift = BigInt(128 - width);
      const want = addressBits(spec.address) >> shift;
      const addresses = [...(c.address !== undefined ? [c.address] : []), ...c.names];
      return addresses.some((a) => isIP(a) !== 0 && addressBits(a) >> shift === want);
    }
  }
}

// ---- Generators over a small world, so that matches are common.

const LABELS = ['a', 'b', 'example', 'com', 'internal', 'x-1'];
const domain = fc
  .array(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 3 })
  .map((labels) => labels.join('.'));
const V4 = ['10.0.0.1', '10.0.1.7', '10.1.0.1', '192.168.0.1', '127.0.0.1'];
const V6 = ['::1', 'fd00::1', 'fd00::2:1', 'fd00:0:0:1::5', '2001:db8::1', '::ffff:10.0.0.1'];
const v4 = fc.constantFrom(...V4);
const v6 = fc.constantFrom(...V6);
const PORTS = [80, 443, 8080];
const port = fc.option(fc.constantFrom(...PORTS), { nil: undefined });
const upper = (text: string, flip: boolean) => (flip ? text.toUpperCase() : text);

/** A pattern and one of the ways to write it. */
const entry: fc.Arbitrary<[Spec, string]> = fc.oneof(
  fc
    .tuple(port, fc.boolean())
    .map(([p, bare]): [Spec, string] => [
      { kind: 'any', port: p },
      p === undefined ? '*' : bare ? `*:${p}` : `*:${p}`,
    ]),
  fc
    .tuple(domain, port, fc.constantFrom('', '.', '*.'), fc.boolean(), fc.boolean())
    .map(([d, p, prefix, dot, caps]): [Spec, string] => [
      { kind: 'domain', domain: d, port: p },
      upper(`${prefix}${d}${dot ? '.' : ''}`, caps) + (p !== undefined ? `:${p}` : ''),
    ]),
  fc
    .tuple(v4, fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined }), port)
    .map(([a, bits, p]): [Spec, string] => [
      { kind: 'cidr', address: a, bits: bits ?? 32, port: p },
      `${a}${bits !== undefined ? `/${bits}` : ''}${p !== undefined ? `:${p}` : ''}`,
    ]),
  fc
    .tuple(v6, fc.option(fc.integer({ min: 0, max: 128 }), { nil: undefined }), port, fc.boolean())
    .map(([a, bits, p, brackets]): [Spec, string] => {
      const text = `${a}${bits !== undefined ? `/${bits}` : ''}`;
      return [
        { kind: 'cidr', address: a, bits: bits ?? 128, port: p },
        p !== undefined || brackets ? `[${text}]${p !== undefined ? `:${p}` : ''}` : text,
      ];
    }),
);
const separator = fc.constantFrom(',', ' ', ', ', '\t', ',,', '\n');

const candidate: fc.Arbitrary<HostCandidate> = fc.record(
  {
    names: fc.array(
      fc.oneof(
        fc
          .tuple(domain, fc.boolean(), fc.boolean())
          .map(([d, dot, caps]) => upper(d, caps) + (dot ? '.' : '')),
        fc.tuple(fc.constantFrom(...LABELS), domain).map(([l, d]) => `${l}${d}`),
        v4,
        v6,
      ),
      { maxLength: 2 },
    ),
    address: fc.option(fc.oneof(v4, v6), { nil: undefined }),
    port: fc.constantFrom(...PORTS, 1234),
  },
  { noNullPrototype: true },
);

void test('a no_proxy list matches exactly what the reference model says', FUZZ_TEST, () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(entry, separator), { maxLength: 5 }),
      fc.array(candidate, { minLength: 1, maxLength: 8 }),
      (entries, candidates) => {
        const text = entries.map(([[, written], sep]) => written + sep).join('');
        const list = new HostPatternList(text);
        assert.deepEqual(list.problems, [], text);
        for (const c of candidates) {
          const expected = entries.some(([[spec]]) => modelMatches(spec, c));
          assert.equal(
            list.matches(c),
            expected,
            `${JSON.stringify(text)} vs ${JSON.stringify(c)}`,
          );
        }
      },
    ),
    fuzzParams(14_301, 3_000),
  );
});

const ALPHABET = 'abcdef0123456789.:[]/*,- ';
const anyText = fc.oneof(
  fc.string({ maxLength: 60, unit: 'binary' }),
  stringFrom(ALPHABET, 60),
  fc
    .constantFrom('localhost,127.0.0.1,::1', '.example.com, 10.0.0.0/8 [fd00::]:443', '*')
    .chain((t) => mutated(t, ALPHABET)),
);

void test(
  'any no_proxy text is read without a throw: each entry is a pattern or a problem',
  FUZZ_TEST,
  () => {
    fc.assert(
      fc.property(anyText, candidate, (text, c) => {
        const list = new HostPatternList(text);
        const entries = text.split(/[\s,]+/).filter((e) => e !== '');
        for (const p of list.problems) {
          assert.ok(entries.includes(p.entry), p.entry);
          assert.ok(p.message.length > 0);
        }
        assert.equal(list.empty, list.problems.length === entries.length);
        assert.equal(typeof list.matches(c), 'boolean');
      }),
      fuzzParams(14_302, 5_000),
    );
  },
);

void test('found while writing the properties above', () => {
  // Leading zeros or an octet over 255 made a domain that matched nothing, with no warning.
  for (const entry of ['010.0.0.1', '10.0.0.256', '1.2.3', '10.0.0.1.']) {
    assert.deepEqual(
      new HostPatternList(entry).problems.map((p) => p.message),
      ['is not an IP address'],
      entry,
    );
  }
});
