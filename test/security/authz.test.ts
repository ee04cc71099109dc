// gRFC A43 authorization policies: loading (every problem with file:line:col and key path, the
// headers A43 forbids refused as grpc-go refuses them) and deciding (deny first, then allow, no
// match denies; exact/prefix/suffix/presence patterns; principals from the peer certificate;
// the jwt_claims extension).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PeerIdentity } from '../../common/peer-identity.js';
import {
  authorize,
  compileAuthzPolicy,
  loadAuthzPolicyFile,
  parseAuthzPolicy,
  SecurityError,
  type AuthzRequest,
} from '../../security/authz/index.js';

function identity(partial: Partial<PeerIdentity>): PeerIdentity {
  return {
    subject: 'O=Example, CN=client',
    commonName: 'client',
    dns: [],
    uri: [],
    email: [],
    ip: [],
    fingerprint256: 'AA:BB',
    ...partial,
  };
}

const ADMIN = identity({
  uri: ['spiffe://foo.com/sa/admin1'],
  spiffeId: 'spiffe://foo.com/sa/admin1',
});
const DEV = identity({ dns: ['dev.foo.com'], subject: 'O=Foo, CN=dev' });

/** The example policy of gRFC A43, as written there. */
const A43_EXAMPLE = `{
  "name": "example-policy",
  "allow_rules": [
    {
      "name": "admin-access",
      "source": { "principals": ["spiffe://foo.com/sa/admin1", "spiffe://foo.com/sa/admin2"] },
      "request": { "paths": ["/pkg.service/*"] }
    },
    {
      "name": "dev-access",
      "source": { "principals": ["*"] },
      "request": { "paths": ["/pkg.service/foo", "/pkg.service/bar"] }
    }
  ],
  "deny_rules": [
    { "name": "deny-access", "request": { "paths": ["*/secret"] } }
  ]
}`;

function request(
  path: string,
  tls: AuthzRequest['tls'],
  headers: AuthzRequest['headers'] = {},
  claims?: Record<string, unknown>,
): AuthzRequest {
  return { path, tls, headers, claims };
}

function loadError(text: string, file = 'policy.json'): SecurityError {
  try {
    parseAuthzPolicy(text, file);
  } catch (err) {
    assert.ok(SecurityError.is(err), String(err));
    assert.equal(err.code, 'SWY_ERR_AUTHZ_POLICY');
    return err as SecurityError;
  }
  assert.fail('the policy loaded');
}

describe('authorization policy: loading', () => {
  it('names the file, line and column of a JSON syntax error', () => {
    const text = '{\n  "name": "p",\n  "allow_rules": [\n    { "name": "a", },\n  ]\n}\n';
    const err = loadError(text, '/etc/switchyard/greeter.json');
    assert.match(err.message, /^\/etc\/switchyard\/greeter\.json:4:20: not valid JSON: /);
    assert.deepEqual(err.position, { file: '/etc/switchyard/greeter.json', line: 4, column: 20 });
    assert.match(loadError('{"name": "p"').message, /^policy\.json:1:13: not valid JSON/);
    assert.match(loadError('').message, /^policy\.json:1:1: not valid JSON/);
    // YAML would take these; a grpc-go server would not, so neither does switchyard.
    assert.match(
      loadError('name: p').message,
      /^policy\.json:1:2: not valid JSON: Unexpected token 'a'$/,
    );
  });

  it('names the key path and position of every kind of bad value', () => {
    const cases: [string, RegExp][] = [
      ['{"allow_rules": [{"name": "a"}]}', /^policy\.json:1:1: name: is required/],
      ['{"name": "p"}', /^policy\.json:1:1: allow_rules: is required/],
      [
        '{"name": "p", "allow_rules": []}',
        /^policy\.json:1:30: allow_rules: must have at least one rule/,
      ],
      [
        '{"name": "p",\n "allow_rules": [{"name": "a"}],\n "extra": 1}',
        /^policy\.json:3:11: extra: unknown key "extra"/,
      ],
      [
        '{"name": "p", "allow_rules": [{}]}',
        /^policy\.json:1:31: allow_rules\[0\]\.name: is required/,
      ],
      [
        '{"name": "p", "allow_rules": [{"name": "a", "source": {"principal": ["x"]}}]}',
        /allow_rules\[0\]\.source\.principal: unknown key "principal"/,
      ],
      [
        '{"name": "p", "allow_rules": [{"name": "a", "request": {"paths": "/a"}}]}',
        /^policy\.json:1:66: allow_rules\[0\]\.request\.paths: must be a list of strings/,
      ],
      [
        '{"name": "p", "allow_rules": [{"name": "a", "request": {"paths": ["/a", 3]}}]}',
        /allow_rules\[0\]\.request\.paths\[1\]: must be a string, not number 3/,
      ],
      [
        '{"name": "p", "allow_rules": [{"name": "a"}, {"name": "a"}]}',
        /allow_rules\[1\]\.name: rule name "a" is used twice \(also allow_rules\[0\]\)/,
      ],
      [
        '{"name": "p", "allow_rules": [{"name": "a", "request": {"headers": [{"key": "x-a"}]}}]}',
        /allow_rules\[0\]\.request\.headers\[0\]\.values: is required/,
      ],
      [
        '{"name": "p", "allow_rules": [{"name": "a", "request": {"headers": [{"values": ["v"]}]}}]}',
        /headers\[0\]\.key: is required/,
      ],
      [
        '{"name": "p", "deny_rules": {}, "allow_rules": [{"name": "a"}]}',
        /deny_rules: must be a list of rules, not an object/,
      ],
    ];
    for (const [text, pattern] of cases) assert.match(loadError(text).message, pattern, text);
  });

  it('refuses the headers gRFC A43 forbids, in any case', () => {
    for (const key of [
      ':path',
      ':authority',
      'grpc-timeout',
      'Grpc-Status',
      'host',
      'HOST',
      'connection',
      'keep-alive',
      'te',
      'trailer',
      'transfer-encoding',
      'upgrade',
      'proxy-authorization',
      'proxy-authenticate',
    ]) {
      const text = `{"name": "p", "allow_rules": [{"name": "a", "request": {"headers": [{"key": "${key}", "values": ["*"]}]}}]}`;
      const err = loadError(text);
      assert.match(err.message, new RegExp(`unsupported "key" ${key.toLowerCase()}`), key);
      assert.equal(err.path, 'allow_rules[0].request.headers[0].key');
      assert.equal(err.position?.line, 1);
    }
    // Ordinary metadata, authorization included, may be matched.
    parseAuthzPolicy(
      '{"name": "p", "allow_rules": [{"name": "a", "request": {"headers": [{"key": "Authorization", "values": ["Bearer *"]}]}}]}',
    );
  });

  it('loads a policy file, and names the file when it cannot be read or is too large', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swy-authz-'));
    try {
      const file = join(dir, 'greeter.json');
      await writeFile(file, A43_EXAMPLE);
      const policy = loadAuthzPolicyFile(file);
      assert.equal(policy.name, 'example-policy');
      assert.equal(policy.source, file);
      assert.deepEqual(
        policy.allowRules.map((r) => r.name),
        ['admin-access', 'dev-access'],
      );
      await writeFile(file, A43_EXAMPLE.replace('"dev-access",', '"dev-access"'));
      assert.throws(
        () => loadAuthzPolicyFile(file),
        (e: unknown) => SecurityError.is(e) && e.message.startsWith(`${file}:11:7: not valid JSON`),
      );
      assert.throws(
        () => loadAuthzPolicyFile(join(dir, 'missing.json')),
        /missing\.json: cannot read the policy file/,
      );
      await writeFile(file, ' '.repeat(1024 * 1024 + 1));
      assert.throws(() => loadAuthzPolicyFile(file), /a policy may be at most 1048576/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('compiles a policy given as a value, naming key paths', () => {
    const policy = compileAuthzPolicy(
      { name: 'p', allow_rules: [{ name: 'all' }] },
      'routes[0].filters[1].authz.policy',
    );
    assert.equal(policy.allowRules.length, 1);
    assert.throws(
      () =>
        compileAuthzPolicy(
          { name: 'p', allow_rules: [{ name: 'a', source: { principals: 'x' } }] },
          'inline',
        ),
      { message: /^inline: allow_rules\[0\]\.source\.principals: must be a list of strings/ },
    );
  });
});

describe('authorization policy: decisions', () => {
  const policy = parseAuthzPolicy(A43_EXAMPLE, 'a43.json');

  it('decides the gRFC A43 example as the proposal says', () => {
    const tlsAdmin = { identity: ADMIN };
    const tlsDev = { identity: DEV };
    assert.deepEqual(authorize(policy, request('/pkg.service/anything', tlsAdmin)), {
      allowed: true,
      policy: 'example-policy',
      rule: 'admin-access',
    });
    assert.equal(authorize(policy, request('/pkg.service/foo', tlsDev)).rule, 'dev-access');
    const other = authorize(policy, request('/pkg.service/baz', tlsDev));
    assert.equal(other.allowed, false);
    assert.equal(!other.allowed && other.reason, 'NO_MATCH');
    assert.equal(other.rule, undefined);
    // Deny wins, even for the admin.
    const secret = authorize(policy, request('/pkg.service/secret', tlsAdmin));
    assert.equal(secret.allowed, false);
    if (!secret.allowed) {
      assert.equal(secret.code, 'PERMISSION_DENIED');
      assert.equal(secret.reason, 'DENY_RULE');
      assert.equal(secret.rule, 'deny-access');
      assert.match(secret.message, /rule "deny-access" of policy "example-policy"/);
    }
  });

  it('matches principals only over TLS: "" without a certificate, "*" only with one', () => {
    const p = parseAuthzPolicy(`{"name": "p", "allow_rules": [
      {"name": "empty", "source": {"principals": [""]}, "request": {"paths": ["/a/Empty"]}},
      {"name": "any-cert", "source": {"principals": ["*"]}, "request": {"paths": ["/a/Any"]}},
      {"name": "no-source", "request": {"paths": ["/a/Open"]}}
    ]}`);
    // Plaintext: no principal matches, not even "".
    assert.equal(authorize(p, request('/a/Empty', undefined)).allowed, false);
    assert.equal(authorize(p, request('/a/Any', undefined)).allowed, false);
    assert.equal(authorize(p, request('/a/Open', undefined)).allowed, true);
    // TLS without a client certificate.
    assert.equal(authorize(p, request('/a/Empty', { identity: undefined })).allowed, true);
    assert.equal(authorize(p, request('/a/Any', { identity: undefined })).allowed, false);
    // With one.
    assert.equal(authorize(p, request('/a/Any', { identity: DEV })).allowed, true);
    assert.equal(authorize(p, request('/a/Empty', { identity: DEV })).allowed, false);
  });

  it('matches a principal against URI SANs, DNS SANs and the subject in both orders', () => {
    const p = parseAuthzPolicy(`{"name": "p", "allow_rules": [
      {"name": "spiffe", "source": {"principals": ["spiffe://foo.com/ns/prod/*"]}},
      {"name": "dns", "source": {"principals": ["*.internal.example"]}},
      {"name": "subject-openssl", "source": {"principals": ["O=Acme, CN=batch"]}},
      {"name": "subject-rfc2253", "source": {"principals": ["CN=report,O=Acme"]}}
    ]}`);
    const decide = (id: PeerIdentity) => authorize(p, request('/x.Y/Z', { identity: id }));
    assert.equal(
      decide(identity({ uri: ['https://x', 'spiffe://foo.com/ns/prod/sa/web'] })).rule,
      'spiffe',
    );
    assert.equal(decide(identity({ uri: ['spiffe://foo.com/ns/dev/sa/web'] })).allowed, false);
    assert.equal(decide(identity({ dns: ['a.example', 'db.internal.example'] })).rule, 'dns');
    assert.equal(decide(identity({ subject: 'O=Acme, CN=batch' })).rule, 'subject-openssl');
    assert.equal(decide(identity({ subject: 'O=Acme, CN=report' })).rule, 'subject-rfc2253');
    assert.equal(decide(identity({ subject: 'O=Acme, CN=other' })).allowed, false);
  });

  it('matches headers: present, all ANDed, values ORed, repeated values joined with commas', () => {
    const p = parseAuthzPolicy(`{"name": "p", "allow_rules": [{"name": "h", "request": {
      "paths": ["/svc.S/*"],
      "headers": [
        {"key": "X-Tenant", "values": ["acme", "globex*"]},
        {"key": "x-env", "values": ["*"]},
        {"key": "x-trace", "values": ["*-sampled"]}
      ]}}]}`);
    const ok = { 'x-tenant': 'globex-eu', 'x-env': 'prod', 'x-trace': 'abc-sampled' };
    assert.equal(authorize(p, request('/svc.S/M', undefined, ok)).allowed, true);
    assert.equal(authorize(p, request('/svc.T/M', undefined, ok)).allowed, false, 'path');
    assert.equal(
      authorize(p, request('/svc.S/M', undefined, { ...ok, 'x-tenant': 'initech' })).allowed,
      false,
    );
    assert.equal(
      authorize(p, request('/svc.S/M', undefined, { ...ok, 'x-env': '' })).allowed,
      false,
      '"*" needs a value',
    );
    assert.equal(
      authorize(p, request('/svc.S/M', undefined, { 'x-tenant': 'acme', 'x-trace': 'a-sampled' }))
        .allowed,
      false,
      'absent header',
    );
    // Two values: "acme,globex" — matches the prefix "globex*"? No: the joined value starts with acme.
    assert.equal(
      authorize(p, request('/svc.S/M', undefined, { ...ok, 'x-tenant': ['acme', 'globex'] }))
        .allowed,
      false,
    );
    assert.equal(
      authorize(p, request('/svc.S/M', undefined, { ...ok, 'x-tenant': ['globex', 'acme'] }))
        .allowed,
      true,
    );
    // The flat header list of the proxy.
    const flat = [':path', '/svc.S/M', 'x-tenant', 'acme', 'x-env', 'prod', 'x-trace', '1-sampled'];
    assert.equal(authorize(p, request('/svc.S/M', undefined, flat)).allowed, true);
  });

  it('reads JWT claims through the jwt_claims extension', () => {
    const p = parseAuthzPolicy(`{"name": "p",
      "deny_rules": [{"name": "banned", "source": {"jwt_claims": [{"claim": "sub", "values": ["mallory"]}]}}],
      "allow_rules": [
        {"name": "writers", "source": {"jwt_claims": [
          {"claim": "scope", "values": ["orders:write"]},
          {"claim": "realm.roles", "values": ["admin", "ops-*"]}
        ]}, "request": {"paths": ["/orders.Orders/*"]}},
        {"name": "mtls-and-claim", "source": {"principals": ["spiffe://foo.com/*"], "jwt_claims": [{"claim": "tier", "values": ["1"]}]}}
      ]}`);
    const call = (
      claims: Record<string, unknown> | undefined,
      tls: AuthzRequest['tls'] = undefined,
    ) => authorize(p, request('/orders.Orders/Create', tls, {}, claims));
    assert.equal(
      call({ sub: 'bob', scope: 'orders:read orders:write', realm: { roles: ['ops-eu'] } }).rule,
      'writers',
    );
    assert.equal(
      call({ sub: 'bob', scope: 'orders:read', realm: { roles: ['admin'] } }).allowed,
      false,
    );
    assert.equal(
      call({ sub: 'bob', scope: 'orders:write', realm: { roles: 'viewer' } }).allowed,
      false,
    );
    assert.equal(call(undefined).allowed, false, 'no claims: a claims rule never matches');
    const banned = call({ sub: 'mallory', scope: 'orders:write', realm: { roles: ['admin'] } });
    assert.equal(banned.allowed, false);
    assert.equal(banned.rule, 'banned');
    // Both principal and claims must match (ANDed); numbers compare as JSON writes them.
    const spiffe = { identity: identity({ uri: ['spiffe://foo.com/sa/x'] }) };
    assert.equal(call({ tier: 1 }, spiffe).rule, 'mtls-and-claim');
    assert.equal(call({ tier: 2 }, spiffe).allowed, false);
    assert.equal(call({ tier: 1 }, undefined).allowed, false);
  });

  it('allows everything with an empty allow rule, and a deny rule with neither source nor request denies all', () => {
    const open = parseAuthzPolicy('{"name": "p", "allow_rules": [{"name": "all"}]}');
    assert.equal(authorize(open, request('/any.Thing/At', undefined)).rule, 'all');
    const closed = parseAuthzPolicy(
      '{"name": "p", "deny_rules": [{"name": "none"}], "allow_rules": [{"name": "all"}]}',
    );
    assert.equal(authorize(closed, request('/any.Thing/At', { identity: ADMIN })).rule, 'none');
    // An empty principals list is no condition (as grpc-go reads it).
    const empty = parseAuthzPolicy(
      '{"name": "p", "allow_rules": [{"name": "all", "source": {"principals": []}}]}',
    );
    assert.equal(authorize(empty, request('/a/B', undefined)).allowed, true);
  });
});
