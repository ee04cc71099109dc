// Properties of the target syntax over generated and mutated targets: a target is parsed or
// refused with a TargetError (never anything else), its canonical text parses back to the same
// target, and targets built from their parts parse to those parts.
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_CONSUL_PORT,
  DEFAULT_DNS_PORT,
  formatHostPort,
  formatTarget,
  parseTarget,
  TargetError,
  type HostPort,
  type Target,
} from '../../resolver/target.js';
import { FUZZ_TEST, fuzzParams, mutated, stringFrom } from '../support/fuzz.js';

/** The target, or the TargetError; anything else thrown fails the property. */
function tryParse(text: string): Target | TargetError {
  try {
    return parseTarget(text);
  } catch (err) {
    if (err instanceof TargetError) return err;
    throw err;
  }
}

const label = fc.stringMatching(/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,8}[A-Za-z0-9_])?$/);
const hostName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([labels, dot]) => labels.join('.') + (dot ? '.' : ''))
  // A name of digits and dots only is an IPv4 address or not a host at all.
  .filter((name) => !/^[\d.]+$/.test(name));
// Link-local addresses carry a zone (`fe80::1%eth0`), which the brackets must keep intact.
const zoned = fc.stringMatching(/^[A-Za-z0-9]{1,6}$/).map((zone) => `fe80::1%${zone}`);
const ipHost = fc.oneof(fc.ipV4(), fc.ipV6(), zoned);
const host = fc.oneof(hostName, ipHost);
const port = fc.integer({ min: 1, max: 65_535 });
const plain = { noNullPrototype: true } as const;
const hostPort = fc.record({ host, port }, plain);
const ipPort = fc.record({ host: ipHost, port }, plain);
const queryText = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' });

const target: fc.Arbitrary<Target> = fc.oneof(
  fc.record(
    {
      scheme: fc.constant('dns' as const),
      nameserver: fc.option(ipPort, { nil: undefined }),
      host,
      port,
    },
    plain,
  ),
  fc.record(
    {
      scheme: fc.constant('dns+srv' as const),
      nameserver: fc.option(ipPort, { nil: undefined }),
      name: hostName,
    },
    plain,
  ),
  fc.record(
    {
      scheme: fc.constant('consul' as const),
      agent: fc.option(hostPort, { nil: undefined }),
      service: fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/),
      tags: fc.array(queryText, { maxLength: 3 }),
      datacenter: fc.option(queryText, { nil: undefined }),
      namespace: fc.option(queryText, { nil: undefined }),
      filter: fc.option(queryText, { nil: undefined }),
    },
    plain,
  ),
  fc.record(
    {
      scheme: fc.constant('static' as const),
      endpoints: fc.array(hostPort, { minLength: 1, maxLength: 4 }),
    },
    plain,
  ),
);

/** Other ways of writing the same target: bare forms, default ports left out, spaces, case. */
function spellings(t: Target): string[] {
  const hp = (h: HostPort) => formatHostPort(h);
  const out = [formatTarget(t), `  ${formatTarget(t)}\t`];
  switch (t.scheme) {
    case 'dns':
      out.push(`DNS://${t.nameserver ? hp(t.nameserver) : ''}/${hp(t)}`);
      if (t.nameserver === undefined) out.push(hp(t));
      if (t.port === DEFAULT_DNS_PORT && t.nameserver === undefined) {
        out.push(`dns:///${isIPv6(t.host) ? `[${t.host}]` : t.host}`);
        out.push(t.host);
      }
      break;
    case 'static':
      out.push(`static:///${t.endpoints.map(hp).join(' , ')}`);
      if (t.endpoints.length > 1) out.push(t.endpoints.map(hp).join(','));
      break;
    case 'consul':
      if (t.agent?.port === DEFAULT_CONSUL_PORT) {
        const agent = isIPv6(t.agent.host) ? `[${t.agent.host}]` : t.agent.host;
        out.push(formatTarget(t).replace(`//${hp(t.agent)}/`, `//${agent}/`));
      }
      break;
    case 'dns+srv':
      break;
  }
  return out;
}

void test(
  'a target built from its parts parses to those parts, however it is written',
  FUZZ_TEST,
  () => {
    fc.assert(
      fc.property(target, (t) => {
        for (const text of spellings(t)) {
          const parsed = tryParse(text);
          assert.ok(!(parsed instanceof TargetError), `${text}: ${(parsed as Error).message}`);
          assert.deepEqual(parsed, t, text);
        }
      }),
      fuzzParams(14_001, 2_000),
    );
  },
);

// Characters targets are made of, so that mutations mostly stay close to real targets.
const ALPHABET = 'dnsrvcoultai+:/[]?&=,.%_-0123456789abcdef:  ';
const corpus = [
  'dns:///svc.example:50051',
  'dns://10.0.0.53:5353/svc.example:80',
  'dns://[::1]/svc:80',
  'dns+srv:///_grpc._tcp.users.internal',
  'dns+srv://[2001:db8::53]:53/_grpc._tcp.a',
  'consul:///users?tag=v2&tag=eu&dc=fra1&ns=team&filter=Service.Meta.x%20%3D%3D%20%22y%22',
  'consul://127.0.0.1:8500/users',
  'static:///10.0.0.1:50051,[::1]:50052,backend:80',
  '10.0.0.1:50051,10.0.0.2:50051',
  'svc.example:443',
  '[fe80::1]:8080',
];
const anyText = fc.oneof(
  fc.string({ maxLength: 60, unit: 'binary' }),
  stringFrom(ALPHABET, 60),
  fc.constantFrom(...corpus).chain((text) => mutated(text, ALPHABET)),
  target.chain((t) => mutated(formatTarget(t), ALPHABET)),
);

void test(
  'any text is a target or a TargetError, and a parsed target re-formatted parses to itself',
  FUZZ_TEST,
  () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const parsed = tryParse(text);
        if (parsed instanceof TargetError) {
          assert.equal(parsed.code, 'SWY_ERR_BAD_TARGET');
          assert.equal(parsed.target, text);
          return;
        }
        const canonical = formatTarget(parsed);
        const again = tryParse(canonical);
        assert.ok(
          !(again instanceof TargetError),
          `${text} → ${canonical}: ${(again as Error).message}`,
        );
        assert.deepEqual(again, parsed, `${text} → ${canonical}`);
        assert.equal(formatTarget(again), canonical);
      }),
      fuzzParams(14_002, 5_000),
    );
  },
);
