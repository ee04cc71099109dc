// The jwt and authz built-ins in the proxy, end to end: config file, real grpc-js client and
// backend on loopback, keys and tokens made in the test. A route behind jwt answers
// UNAUTHENTICATED without a token and OK with one (the token stripped, the claims used by a
// later filter); authz answers PERMISSION_DENIED on a deny rule, by the claims jwt verified.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadConfig } from '../../config/load-config.js';
import { configValidators } from '../../proxy/config-validators.js';
import { Switchyard } from '../../proxy/switchyard.js';
import { FilterConfigError } from '../../filter/filter-errors.js';
import {
  echoClient,
  echoUnary,
  startEchoBackend,
  type EchoBackend,
  type EchoServiceClient,
} from '../support/echo-backend.js';
import { startJwksServer } from '../support/jwks-server.js';

const ISSUER = 'https://issuer.test';

interface Setup {
  readonly dir: string;
  readonly backend: EchoBackend;
  token(claims: Record<string, unknown>): Promise<string>;
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-security-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  const backend = await startEchoBackend({ name: 'b1' });
  t.after(() => backend.close());
  return {
    dir,
    backend,
    token: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience('echo')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey),
  };
}

async function proxyWith(t: TestContext, s: Setup, filters: string): Promise<EchoServiceClient> {
  const file = join(s.dir, 'switchyard.yaml');
  await writeFile(
    file,
    `listeners:
  - address: 127.0.0.1:0
routes:
  - match: { service: test.Echo }
    cluster: echo
    filters:
${filters}
clusters:
  echo: { target: "static:///${s.backend.address}" }
`,
  );
  const config = await loadConfig(file, { validators: configValidators, env: {} });
  const proxy = await Switchyard.start(config);
  const client = echoClient(`127.0.0.1:${Object.values(proxy.addresses())[0].port}`);
  t.after(async () => {
    client.close();
    await proxy.close(0);
  });
  return client;
}

function bearer(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

const JWT_ENTRY = `      - jwt: { issuer: "${ISSUER}", audiences: [echo], jwks: { file: ./jwks.json } }`;

describe('jwt and authz filters in the proxy', () => {
  it('jwt: UNAUTHENTICATED without a token, OK with one, claims passed on', async (t) => {
    const s = await setup(t);
    const c = await proxyWith(
      t,
      s,
      `${JWT_ENTRY}
      - headers: { request: { set: { x-echo-user: "\${claims.sub}" } } }`,
    );
    const none = await echoUnary(c, {}, { metadata: bearer(undefined) });
    assert.equal(none.status.code, grpc.status.UNAUTHENTICATED);
    const garbage = await echoUnary(c, {}, { metadata: bearer('not.a.token') });
    assert.equal(garbage.status.code, grpc.status.UNAUTHENTICATED);
    assert.equal(s.backend.calls, 0);

    const token = await s.token({ sub: 'alice' });
    for (let i = 0; i < 2; i++) {
      // The second call's token comes from the verifier's cache, without waiting.
      const ok = await echoUnary(c, {}, { metadata: bearer(token) });
      assert.equal(ok.status.code, grpc.status.OK, ok.status.details);
      assert.deepEqual(ok.headers?.get('x-echo-h-user'), ['alice']);
      // The token is not sent upstream.
      assert.deepEqual(s.backend.lastMetadata?.get('authorization'), []);
    }
  });

  it("jwt: keys found through the issuer's OpenID Connect discovery document", async (t) => {
    const s = await setup(t);
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
    const idp = await startJwksServer([jwk]);
    t.after(() => idp.close());
    const c = await proxyWith(
      t,
      s,
      `      - jwt: { issuer: "${idp.issuer}", audiences: [echo], jwks: { discovery: true } }`,
    );
    const token = await new SignJWT({ sub: 'carol' })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setIssuer(idp.issuer)
      .setAudience('echo')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    const ok = await echoUnary(c, {}, { metadata: bearer(token) });
    assert.equal(ok.status.code, grpc.status.OK, ok.status.details);
    // A token from the file's key is not this issuer's.
    const other = await echoUnary(c, {}, { metadata: bearer(await s.token({ sub: 'alice' })) });
    assert.equal(other.status.code, grpc.status.UNAUTHENTICATED);
    assert.equal(idp.discoveries, 1);
    assert.equal(s.backend.calls, 1);
  });

  it('authz: PERMISSION_DENIED on a deny rule, by the claims jwt verified', async (t) => {
    const s = await setup(t);
    await writeFile(
      join(s.dir, 'policy.json'),
      JSON.stringify({
        name: 'echo-policy',
        deny_rules: [
          { name: 'no-mallory', source: { jwt_claims: [{ claim: 'sub', values: ['mallory'] }] } },
        ],
        allow_rules: [{ name: 'echo', request: { paths: ['/test.Echo/*'] } }],
      }),
    );
    const c = await proxyWith(
      t,
      s,
      `${JWT_ENTRY}
      - authz: { policy: ./policy.json }`,
    );
    const alice = await echoUnary(c, {}, { metadata: bearer(await s.token({ sub: 'alice' })) });
    assert.equal(alice.status.code, grpc.status.OK, alice.status.details);
    const mallory = await echoUnary(c, {}, { metadata: bearer(await s.token({ sub: 'mallory' })) });
    assert.equal(mallory.status.code, grpc.status.PERMISSION_DENIED);
    assert.equal(mallory.status.details, 'denied by rule "no-mallory" of policy "echo-policy"');
    assert.equal(s.backend.calls, 1);
  });

  it('refuses unusable jwt settings and a bad policy at startup, naming the entry', async (t) => {
    const s = await setup(t);
    await writeFile(join(s.dir, 'bad.json'), '{"name": "p", "allow_rules": [ }');
    for (const [entry, expected] of [
      ['      - jwt: { audiences: [echo], jwks: { file: ./jwks.json } }', /:7:9: jwt: .*issuer/],
      ['      - authz: { policy: ./bad.json }', /:7:9: authz: .*bad\.json:1:\d+/],
    ] as const) {
      await assert.rejects(proxyWith(t, s, entry), (err: unknown) => {
        assert.ok(err instanceof FilterConfigError, String(err));
        assert.match(err.message, expected);
        return true;
      });
    }
  });
});
