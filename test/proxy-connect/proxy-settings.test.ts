// The proxy environment with an injected env: which variable wins for each use, proxy URLs,
// and no_proxy matching (names, domain suffixes, IPv4/IPv6 addresses, CIDR, ports, `*`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostPatternList } from '../../common/host-patterns.js';
import { FILE, rejection } from '../support/rejected-config.js';
import {
  ProxyEnvironment,
  bypasses,
  parseProxyUrl,
  type ProxyEnv,
  type ProxyTarget,
  type ProxyUse,
} from '../../egress/proxy-settings.js';

const A = 'http://a:1';
const B = 'http://b:2';
const C = 'http://c:3';

void describe('which variable wins', () => {
  const cases: readonly [ProxyEnv, ProxyUse, string | undefined][] = [
    [{}, 'grpc', undefined],
    [{ grpc_proxy: A, https_proxy: B, http_proxy: C }, 'grpc', 'grpc_proxy'],
    [{ https_proxy: B, http_proxy: C }, 'grpc', 'https_proxy'],
    [{ http_proxy: C }, 'grpc', 'http_proxy'],
    [{ GRPC_PROXY: A, https_proxy: B }, 'grpc', 'GRPC_PROXY'],
    [{ grpc_proxy: A, GRPC_PROXY: B }, 'grpc', 'grpc_proxy'],
    [{ HTTPS_PROXY: B, http_proxy: C }, 'grpc', 'HTTPS_PROXY'],
    [{ HTTP_PROXY: C }, 'grpc', 'HTTP_PROXY'],
    // Empty counts as unset.
    [{ grpc_proxy: '', https_proxy: ' ', http_proxy: C }, 'grpc', 'http_proxy'],
    // Plain HTTP requests use http_proxy only, HTTPS requests https_proxy only (as curl).
    [{ grpc_proxy: A, https_proxy: B, http_proxy: C }, 'http', 'http_proxy'],
    [{ grpc_proxy: A, https_proxy: B }, 'http', undefined],
    [{ grpc_proxy: A, https_proxy: B, http_proxy: C }, 'https', 'https_proxy'],
    [{ http_proxy: C }, 'https', undefined],
    [{ http_proxy: C, HTTP_PROXY: A }, 'http', 'http_proxy'],
  ];
  for (const [env, use, source] of cases) {
    void it(`${JSON.stringify(env)} for ${use} → ${source ?? 'direct'}`, () => {
      const environment = new ProxyEnvironment(env);
      assert.equal(environment.proxy(use)?.source, source);
      assert.deepEqual(environment.problems, []);
    });
  }

  void it('no_grpc_proxy replaces no_proxy for gRPC connections only', () => {
    const env = { http_proxy: C, no_grpc_proxy: 'a.test', no_proxy: 'b.test' };
    const environment = new ProxyEnvironment(env);
    assert.equal(environment.proxyFor('grpc', { host: 'a.test', port: 1 }), undefined);
    assert.equal(environment.proxyFor('grpc', { host: 'b.test', port: 1 })?.address, 'c:3');
    assert.equal(environment.proxyFor('http', { host: 'a.test', port: 1 })?.address, 'c:3');
    assert.equal(environment.proxyFor('http', { host: 'b.test', port: 1 }), undefined);
  });

  void it('an unusable URL is reported and that use connects directly', () => {
    const environment = new ProxyEnvironment({
      https_proxy: 'socks5://s:1080',
      http_proxy: C,
      no_proxy: 'ok.test,10.0.0.0/99',
    });
    assert.equal(environment.proxy('grpc'), undefined);
    assert.equal(environment.proxy('http')?.address, 'c:3');
    assert.deepEqual(environment.problems, [
      {
        variable: 'https_proxy',
        message:
          '"socks5://s:1080": only http:// and https:// proxies (HTTP CONNECT) are supported',
      },
      {
        variable: 'no_proxy',
        message: 'entry "10.0.0.0/99" has a bad prefix length; it is ignored',
      },
    ]);
  });
});

void describe('proxy URLs', () => {
  void it('reads host, port, scheme and credentials', () => {
    assert.deepEqual(parseProxyUrl('http://proxy.corp:3128', 'x'), {
      protocol: 'http:',
      host: 'proxy.corp',
      port: 3128,
      address: 'proxy.corp:3128',
      authorization: undefined,
      source: 'x',
    });
    const auth = parseProxyUrl('https://us%40er:p%3Ass@[::1]', 'y');
    assert.ok(typeof auth !== 'string');
    assert.equal(auth.protocol, 'https:');
    assert.equal(auth.host, '::1');
    assert.equal(auth.port, 443);
    assert.equal(auth.address, '[::1]:443');
    assert.equal(auth.authorization, `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
    // A bare host:port means http://, as curl reads it; the default port is the scheme's.
    const bare = parseProxyUrl('10.0.0.1:8080', 'z');
    assert.ok(typeof bare !== 'string');
    assert.equal(bare.protocol, 'http:');
    assert.equal(bare.address, '10.0.0.1:8080');
    const noPort = parseProxyUrl('http://p', 'z');
    assert.ok(typeof noPort !== 'string');
    assert.equal(noPort.port, 80);
    const userOnly = parseProxyUrl('http://token@p:1', 'z');
    assert.ok(typeof userOnly !== 'string');
    assert.equal(userOnly.authorization, `Basic ${Buffer.from('token:').toString('base64')}`);
  });

  void it('rejects what is not an HTTP CONNECT proxy', () => {
    const problem = (text: string): string => {
      const parsed = parseProxyUrl(text, 'x');
      return typeof parsed === 'string' ? parsed : 'accepted';
    };
    assert.match(problem('socks5://p:1'), /only http:\/\/ and https:\/\//);
    assert.match(problem('http://p:1/path'), /with no path/);
    assert.match(problem('http://:1'), /not a URL|names no host/);
  });
});

void describe('no_proxy matching', () => {
  const cases: readonly [string, ProxyTarget, boolean][] = [
    ['example.com', { host: 'example.com', port: 443 }, true],
    ['example.com', { host: 'api.example.com', port: 443 }, true],
    ['example.com', { host: 'API.Example.COM.', port: 443 }, true],
    ['example.com', { host: 'notexample.com', port: 443 }, false],
    ['.example.com', { host: 'example.com', port: 443 }, true],
    ['.example.com', { host: 'a.b.example.com', port: 443 }, true],
    ['.example.com', { host: 'notexample.com', port: 443 }, false],
    ['*.example.com', { host: 'x.example.com', port: 1 }, true],
    ['example.com.', { host: 'x.example.com', port: 1 }, true],
    ['example.com:443', { host: 'api.example.com', port: 443 }, true],
    ['example.com:443', { host: 'api.example.com', port: 8443 }, false],
    ['10.0.0.1', { host: '10.0.0.1', port: 1 }, true],
    ['10.0.0.1', { host: '10.0.0.10', port: 1 }, false],
    ['10.0.0.0/8', { host: '10.200.3.4', port: 1 }, true],
    ['10.0.0.0/8', { host: '11.0.0.1', port: 1 }, false],
    ['192.168.1.0/24:50051', { host: '192.168.1.7', port: 50051 }, true],
    ['192.168.1.0/24:50051', { host: '192.168.1.7', port: 50052 }, false],
    ['::1', { host: '::1', port: 1 }, true],
    ['[::1]', { host: '::1', port: 1 }, true],
    ['[::1]:8080', { host: '::1', port: 8080 }, true],
    ['[::1]:8080', { host: '::1', port: 8081 }, false],
    ['fd00::/8', { host: 'fd12:3456::1', port: 1 }, true],
    ['fd00::/8', { host: 'fe80::1', port: 1 }, false],
    ['[fd00::/8]:443', { host: 'fd00::5', port: 443 }, true],
    ['2001:db8::1', { host: '2001:DB8:0:0::1', port: 1 }, true],
    ['*', { host: 'anything.example', port: 1 }, true],
    ['*:443', { host: '10.0.0.1', port: 443 }, true],
    ['*:443', { host: '10.0.0.1', port: 80 }, false],
    // The endpoint's DNS name counts as well as its address.
    ['.internal', { host: '10.0.0.5', hostname: 'db.internal', port: 1 }, true],
    ['10.0.0.0/24', { host: '10.0.0.5', hostname: 'db.internal', port: 1 }, true],
    ['localhost, 127.0.0.1 ,::1', { host: '127.0.0.1', port: 1 }, true],
    ['a.test b.test', { host: 'b.test', port: 1 }, true],
    ['', { host: 'a.test', port: 1 }, false],
  ];
  for (const [list, target, expected] of cases) {
    void it(`${JSON.stringify(list)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(target)}`, () => {
      const patterns = new HostPatternList(list);
      assert.deepEqual(patterns.problems, []);
      assert.equal(bypasses(patterns, target), expected);
    });
  }

  void it('reports entries it cannot read and keeps the rest', () => {
    const patterns = new HostPatternList(
      'ok.test, 10.0.0.0/40, a:b:c, host:99999, [::1, x/8, 0.0.1',
    );
    assert.deepEqual(
      patterns.problems.map((p) => p.entry),
      ['10.0.0.0/40', 'a:b:c', 'host:99999', '[::1', 'x/8', '0.0.1'],
    );
    assert.equal(bypasses(patterns, { host: 'ok.test', port: 1 }), true);
  });
});

void describe('a cluster proxy URL in a config file', () => {
  void it('is refused by validation when the dialer would refuse it at startup', () => {
    const error = rejection(
      'listeners: [{ address: ":0" }]\nclusters: { c: { target: a:1, proxy: "http://u:%ZZ@p:1" } }\n',
    );
    assert.equal(
      error.message,
      `${FILE}:2:38 clusters.c.proxy: the user or password is badly percent-encoded`,
    );
  });
});
