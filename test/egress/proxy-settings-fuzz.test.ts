// Properties of the proxy environment: a proxy URL built from its parts is read back to them
// (credentials included, as the Basic value), any text is a proxy or a reason, never a throw,
// and a connection goes direct exactly when no proxy is set or no_proxy matches it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HostPatternList } from '../../common/host-patterns.js';
import {
  bypasses,
  parseProxyUrl,
  ProxyEnvironment,
  type ProxyTarget,
} from '../../egress/proxy-settings.js';
import { FUZZ_TEST, fuzzParams, mutated, stringFrom } from '../support/fuzz.js';

const hostName = fc
  .array(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/), { minLength: 1, maxLength: 3 })
  .map((labels) => labels.join('.'))
  // A name whose last label is a number is an IPv4 address to a URL parser (`0a.0` is refused).
  .filter((name) => !/(?:^|\.)(?:\d+|0x[\da-f]*)$/.test(name))
  // `xn--` starts an internationalized label, which must be valid punycode.
  .filter((name) => !/(?:^|\.)xn--/.test(name));
const credential = fc.string({ minLength: 1, maxLength: 10, unit: 'grapheme' });

void test('a proxy URL built from its parts is read back to them', FUZZ_TEST, () => {
  fc.assert(
    fc.property(
      fc.constantFrom('http', 'https', ''),
      fc.oneof(hostName, fc.ipV4(), fc.ipV6()),
      fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
      fc.option(fc.tuple(credential, credential), { nil: undefined }),
      fc.boolean(),
      (scheme, host, port, user, slash) => {
        const bracketed = host.includes(':') ? `[${host}]` : host;
        const auth = user ? `${encodeURIComponent(user[0])}:${encodeURIComponent(user[1])}@` : '';
        const text = `${scheme ? `${scheme}://` : ''}${auth}${bracketed}${port !== undefined ? `:${port}` : ''}${slash ? '/' : ''}`;
        const parsed = parseProxyUrl(text, 'test');
        assert.ok(typeof parsed !== 'string', `${text}: ${parsed as string}`);
        const defaultPort = scheme === 'https' ? 443 : 80;
        assert.equal(parsed.protocol, scheme === 'https' ? 'https:' : 'http:');
        assert.equal(parsed.port, port ?? defaultPort);
        // The URL parser writes IPv6 in its shortest form; compare what it means.
        const again = parseProxyUrl(parsed.address, 'test');
        assert.ok(typeof again !== 'string');
        assert.equal(again.host, parsed.host);
        assert.equal(again.port, parsed.port);
        if (!host.includes(':')) assert.equal(parsed.host, new URL(`http://${host}`).hostname);
        const basic = user
          ? `Basic ${Buffer.from(`${user[0]}:${user[1]}`, 'utf8').toString('base64')}`
          : undefined;
        assert.equal(parsed.authorization, basic);
        assert.ok(!parsed.address.includes('@'), 'the address never carries credentials');
      },
    ),
    fuzzParams(14_601, 3_000),
  );
});

const ALPHABET = 'htps:/@[]%.:-0123456789abcxyz ';
const anyUrl = fc.oneof(
  fc.string({ maxLength: 50, unit: 'binary' }),
  stringFrom(ALPHABET, 50),
  fc
    .constantFrom('http://user:pa%20ss@proxy.internal:3128', 'https://[::1]:8443/', 'proxy:8080')
    .chain((t) => mutated(t, ALPHABET)),
);

void test(
  'any proxy environment is read without a throw, and no_proxy decides what goes direct',
  FUZZ_TEST,
  () => {
    const target: fc.Arbitrary<ProxyTarget> = fc.record(
      {
        host: fc.oneof(hostName, fc.constantFrom('10.0.0.1', '::1')),
        hostname: fc.option(hostName, { nil: undefined }),
        port: fc.constantFrom(80, 443, 50051),
      },
      { noNullPrototype: true },
    );
    const noProxy = fc.oneof(
      fc.constantFrom('', '*', 'a', '.b.c', '10.0.0.0/8', '::1', 'a:443', '010.0.0.1'),
      stringFrom('abc.*,: 0123456789/', 20),
    );
    fc.assert(
      fc.property(anyUrl, noProxy, target, (url, exclusions, t) => {
        const parsed = parseProxyUrl(url, 'test');
        if (typeof parsed === 'string') assert.ok(parsed.length > 0);
        const env = new ProxyEnvironment({ grpc_proxy: url, no_grpc_proxy: exclusions });
        for (const p of env.problems) assert.ok(p.message.length > 0);
        const proxy = env.proxyFor('grpc', t);
        const expected =
          typeof parsed === 'string' || url.trim() === ''
            ? undefined
            : bypasses(new HostPatternList(exclusions), t)
              ? undefined
              : env.proxy('grpc');
        assert.equal(proxy, expected);
      }),
      fuzzParams(14_602, 5_000),
    );
  },
);
