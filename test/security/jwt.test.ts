// JWT verification against a real JWKS server on loopback (node:http), with keys made here by
// jose: every way a token is refused, with the right status and reason; key rotation mid-test;
// a JWKS server that hangs, serves garbage or stops. Time is a manual clock, so exp and nbf are
// tested to the second.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWTPayload,
} from 'jose';
import { SecurityError } from '../../security/errors.js';
import { createJwtVerifier, type JwtConfig, type JwtResult } from '../../security/jwt/index.js';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';

const ISSUER = 'https://issuer.test';
const START = 1_800_000_000_000; // ms since the epoch; a whole second

interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: object;
}

async function makeKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

class ManualClock {
  ms = START;
  now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

function sign(
  key: TestKey,
  clock: ManualClock,
  claims: JWTPayload = {},
  opts: { kid?: string | null; lifetime?: number; noExp?: boolean; issuer?: string } = {},
): Promise<string> {
  const iat = Math.floor(clock.ms / 1000);
  const header: { alg: string; kid?: string } = { alg: key.alg };
  if (opts.kid !== null) header.kid = opts.kid ?? key.kid;
  const jwt = new SignJWT({
    iss: opts.issuer ?? ISSUER,
    aud: 'greeter',
    sub: 'alice',
    iat,
    ...claims,
  }).setProtectedHeader(header);
  if (!opts.noExp && claims.exp === undefined) jwt.setExpirationTime(iat + (opts.lifetime ?? 300));
  return jwt.sign(key.privateKey);
}

const b64 = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function assertRefused(result: JwtResult, code: string, reason: string): void {
  assert.equal(result.ok, false, `expected ${reason}, got ok`);
  if (result.ok) return;
  assert.equal(result.reason, reason, result.message);
  assert.equal(result.code, code);
  assert.ok(result.message.length > 0);
}

describe('JWT verification', () => {
  let server: JwksServer;
  let key1: TestKey;
  let key2: TestKey;
  let ecKey: TestKey;

  before(async () => {
    key1 = await makeKey('k1');
    key2 = await makeKey('k2');
    ecKey = await makeKey('ec1', 'ES256');
    server = await startJwksServer([key1.jwk, ecKey.jwk]);
  });
  after(async () => {
    await server.close();
  });

  function verifier(
    clock: ManualClock,
    extra: Partial<JwtConfig> = {},
    jwks: Partial<JwtConfig['jwks']> = {},
  ) {
    const errors: SecurityError[] = [];
    const v = createJwtVerifier(
      {
        issuer: ISSUER,
        audiences: ['greeter'],
        jwks: { uri: server.uri, timeout: 2000, ...jwks },
        ...extra,
      },
      { now: clock.now, onJwksError: (e) => errors.push(e) },
    );
    return { v, errors };
  }

  it('accepts a valid token and returns its claims', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock, { forwardPayloadHeader: 'x-jwt-payload' });
    const token = await sign(key1, clock, { tenant: 'acme' });
    const result = await v.verify(bearer(token));
    assert.ok(result.ok, result.ok ? '' : result.message);
    assert.equal(result.claims.sub, 'alice');
    assert.equal(result.claims.tenant, 'acme');
    assert.equal(result.from, 'authorization');
    assert.deepEqual(result.forwardHeaders, [['x-jwt-payload', token.split('.')[1]]]);
    // ES256 from the same set, and the scheme in another case (RFC 7235: case-insensitive).
    const ec = await sign(ecKey, clock);
    const ecResult = await v.verify({ authorization: `bearer ${ec}` });
    assert.ok(ecResult.ok);
    v.close();
  });

  it('reads the flat header list and a function as well as an object', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock);
    const token = await sign(key1, clock);
    assert.ok((await v.verify([':path', '/a.B/C', 'authorization', `Bearer ${token}`])).ok);
    assert.ok((await v.verify((n) => (n === 'authorization' ? [`Bearer ${token}`] : []))).ok);
    const custom = verifier(clock, { fromHeaders: [{ name: 'X-Token' }] }).v;
    assert.ok((await custom.verify({ 'x-token': token })).ok);
    assertRefused(await custom.verify(bearer(token)), 'UNAUTHENTICATED', 'TOKEN_MISSING');
  });

  it('refuses expired tokens exactly at exp + clock skew, and not-yet-valid ones', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock, { clockSkew: 60_000 });
    const token = await sign(key1, clock, {}, { lifetime: 100 });
    clock.advance(100 + 59); // one second before exp + skew: accepted
    assert.ok((await v.verify(bearer(token))).ok);
    clock.advance(1); // exp + skew: refused (exp is the first instant the token is invalid)
    const expired = await v.verify(bearer(token));
    assertRefused(expired, 'UNAUTHENTICATED', 'EXPIRED');
    assert.match(expired.ok ? '' : expired.wwwAuthenticate, /^Bearer error="invalid_token"/);

    const clock2 = new ManualClock();
    const { v: v2 } = verifier(clock2, { clockSkew: 0 });
    const nbf = Math.floor(clock2.ms / 1000) + 30;
    const early = await sign(key1, clock2, { nbf });
    assertRefused(await v2.verify(bearer(early)), 'UNAUTHENTICATED', 'NOT_YET_VALID');
    clock2.advance(30);
    assert.ok((await v2.verify(bearer(early))).ok);

    const noExp = await sign(key1, clock2, {}, { noExp: true });
    assertRefused(await v2.verify(bearer(noExp)), 'UNAUTHENTICATED', 'EXPIRATION_MISSING');
    const lax = verifier(clock2, { requireExpiration: false }).v;
    assert.ok((await lax.verify(bearer(noExp))).ok);
  });

  it('refuses the wrong issuer and the wrong audience', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock);
    assertRefused(
      await v.verify(bearer(await sign(key1, clock, { iss: 'https://evil.test' }))),
      'UNAUTHENTICATED',
      'WRONG_ISSUER',
    );
    assertRefused(
      await v.verify(bearer(await sign(key1, clock, { aud: 'other' }))),
      'UNAUTHENTICATED',
      'WRONG_AUDIENCE',
    );
    assert.ok((await v.verify(bearer(await sign(key1, clock, { aud: ['other', 'greeter'] })))).ok);
  });

  it('refuses alg none, and an HS256 token signed with the RSA public key', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock);
    const iat = Math.floor(clock.ms / 1000);
    const payload = b64({ iss: ISSUER, aud: 'greeter', sub: 'root', iat, exp: iat + 300 });
    for (const alg of ['none', 'None', 'NONE']) {
      const none = `${b64({ alg, kid: 'k1' })}.${payload}.`;
      assertRefused(await v.verify(bearer(none)), 'UNAUTHENTICATED', 'ALG_NOT_ALLOWED');
    }
    // Algorithm confusion: the public key (PEM text and JWK n) used as an HMAC secret.
    const { createHmac } = await import('node:crypto');
    const pem = await exportSPKI(key1.publicKey);
    for (const secret of [pem, Buffer.from(String((key1.jwk as { n: string }).n), 'base64url')]) {
      const head = b64({ alg: 'HS256', kid: 'k1' });
      const sig = createHmac('sha256', secret).update(`${head}.${payload}`).digest('base64url');
      const forged = await v.verify(bearer(`${head}.${payload}.${sig}`));
      assertRefused(forged, 'UNAUTHENTICATED', 'ALG_NOT_ALLOWED');
    }
    // An ES256 key never verifies a token that claims RS256, and vice versa.
    const rsWithEcKid = await sign(key1, clock, {}, { kid: 'ec1' });
    assertRefused(await v.verify(bearer(rsWithEcKid)), 'UNAUTHENTICATED', 'UNKNOWN_KID');
  });

  it('refuses a 1 MiB token before decoding it, and malformed tokens', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock);
    const huge = 'a'.repeat(1024 * 1024);
    const big = await v.verify(bearer(`${huge}.${huge}.${huge}`));
    assertRefused(big, 'UNAUTHENTICATED', 'TOKEN_TOO_LARGE');
    assertRefused(await v.verifyToken('x'.repeat(20_000)), 'UNAUTHENTICATED', 'TOKEN_TOO_LARGE');

    const good = (await sign(key1, clock)).split('.');
    const cases: [string, string][] = [
      ['two parts', `${good[0]}.${good[1]}`],
      ['four parts', `${good.join('.')}.x`],
      ['header not base64url', `${good[0].slice(0, -1)}*.${good[1]}.${good[2]}`],
      ['header not JSON', `${b64('{"alg": "RS256"')}.${good[1]}.${good[2]}`],
      ['header a JSON list', `${b64([1, 2])}.${good[1]}.${good[2]}`],
      ['payload not base64url', `${good[0]}.%%%.${good[2]}`],
      ['payload not JSON', `${good[0]}.${b64('not json')}.${good[2]}`],
      ['payload 4n+1 chars', `${good[0]}.${good[1]}a.${good[2]}`],
      ['signature not base64url', `${good[0]}.${good[1]}.${good[2]}=`],
      ['empty signature', `${good[0]}.${good[1]}.`],
    ];
    for (const [what, token] of cases) {
      const result = await v.verify(bearer(token));
      assert.equal(result.ok, false, what);
      if (!result.ok) {
        assert.equal(result.code, 'UNAUTHENTICATED', what);
        assert.ok(
          ['TOKEN_MALFORMED', 'BAD_SIGNATURE'].includes(result.reason),
          `${what}: ${result.reason}`,
        );
      }
    }
    assertRefused(
      await v.verify(bearer(`${good[0]}.${b64('[]')}.${good[2]}`)),
      'UNAUTHENTICATED',
      'TOKEN_MALFORMED',
    );
    // A signature from another key under the same kid.
    const other = await makeKey('k1');
    assertRefused(
      await v.verify(bearer(await sign(other, clock))),
      'UNAUTHENTICATED',
      'BAD_SIGNATURE',
    );
  });

  it('refuses a missing header, another scheme, an empty token and two tokens', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock);
    const missing = await v.verify({});
    assertRefused(missing, 'UNAUTHENTICATED', 'TOKEN_MISSING');
    assert.equal(missing.ok ? '' : missing.wwwAuthenticate, 'Bearer');
    assertRefused(
      await v.verify({ authorization: 'Basic YWxpY2U6cHc=' }),
      'UNAUTHENTICATED',
      'TOKEN_MISSING',
    );
    assertRefused(await v.verify({ authorization: 'Bearer ' }), 'UNAUTHENTICATED', 'TOKEN_MISSING');
    const token = await sign(key1, clock);
    assertRefused(
      await v.verify({ authorization: [`Bearer ${token}`, `Bearer ${token}`] }),
      'UNAUTHENTICATED',
      'TOKEN_MALFORMED',
    );
  });

  it('answers PERMISSION_DENIED for missing scopes and required claims', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock, {
      scopes: ['orders:read', 'orders:write'],
      requiredClaims: { tenant: ['acme', 'globex'], 'org.tier': 'gold' },
    });
    const ok = await sign(key1, clock, {
      scope: 'orders:read orders:write',
      tenant: 'acme',
      org: { tier: 'gold' },
    });
    assert.ok((await v.verify(bearer(ok))).ok);
    const scp = await sign(key1, clock, {
      scp: ['orders:read', 'orders:write'],
      tenant: ['x', 'globex'],
      org: { tier: 'gold' },
    });
    assert.ok((await v.verify(bearer(scp))).ok);
    const noScope = await sign(key1, clock, {
      scope: 'orders:read',
      tenant: 'acme',
      org: { tier: 'gold' },
    });
    const denied = await v.verify(bearer(noScope));
    assertRefused(denied, 'PERMISSION_DENIED', 'INSUFFICIENT_SCOPE');
    assert.match(denied.ok ? '' : denied.message, /orders:write/);
    assert.match(denied.ok ? '' : denied.wwwAuthenticate, /insufficient_scope/);
    const wrongTenant = await sign(key1, clock, {
      scope: 'orders:read orders:write',
      tenant: 'initech',
      org: { tier: 'gold' },
    });
    assertRefused(await v.verify(bearer(wrongTenant)), 'PERMISSION_DENIED', 'CLAIM_MISMATCH');
    const noTier = await sign(key1, clock, { scope: 'orders:read orders:write', tenant: 'acme' });
    assertRefused(await v.verify(bearer(noTier)), 'PERMISSION_DENIED', 'MISSING_CLAIM');
  });

  it('follows a key rotation mid-run with one refetch, rate-limiting refetches for unknown kids', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock, {}, { refreshCooldown: 30_000 });
    assert.equal(await v.prefetch(), true);
    const before = server.fetches;
    assert.ok((await v.verify(bearer(await sign(key1, clock)))).ok);
    assert.equal(server.fetches, before, 'a known kid costs no fetch');

    server.setKeys([key1.jwk, key2.jwk]); // the issuer publishes k2, then signs with it
    clock.advance(1);
    const rotated = await v.verify(bearer(await sign(key2, clock)));
    assert.ok(rotated.ok, rotated.ok ? '' : rotated.message);
    assert.equal(server.fetches, before + 1);

    // Made-up kids within the cooldown cost no fetch at all.
    for (let i = 0; i < 20; i++) {
      const bogus = await v.verify(bearer(await sign(key1, clock, {}, { kid: `bogus-${i}` })));
      assertRefused(bogus, 'UNAUTHENTICATED', 'UNKNOWN_KID');
    }
    assert.equal(server.fetches, before + 1);
    clock.advance(30);
    assertRefused(
      await v.verify(bearer(await sign(key1, clock, {}, { kid: 'bogus-x' }))),
      'UNAUTHENTICATED',
      'UNKNOWN_KID',
    );
    assert.equal(server.fetches, before + 2, 'one refetch per cooldown');

    // k1 retired: after the next refetch its tokens are refused, k2 keeps working.
    server.setKeys([key2.jwk, ecKey.jwk]);
    clock.advance(600); // past cacheDuration: a background refetch
    assert.ok((await v.verify(bearer(await sign(key2, clock)))).ok);
    await waitFor(() => server.fetches === before + 3);
    // Let the background refetch land before checking k1 is gone.
    await new Promise((r) => setTimeout(r, 50));
    assertRefused(
      await v.verify(bearer(await sign(key1, clock))),
      'UNAUTHENTICATED',
      'UNKNOWN_KID',
    );
    server.setKeys([key1.jwk, ecKey.jwk]);
    v.close();
  });

  it('remembers a verified token until exp + skew, and forgets it when the key set changes', async () => {
    const clock = new ManualClock();
    const { v } = verifier(clock, { clockSkew: 10_000 }, { refreshCooldown: 0 });
    const token = await sign(key1, clock, {}, { lifetime: 60 });
    assert.equal(v.verifySync(bearer(token)), undefined, 'not verified yet: needs the key');
    for (let i = 0; i < 3; i++) assert.ok((await v.verify(bearer(token))).ok);
    assert.equal(v.verifySync(bearer(token))?.ok, true, 'remembered: answered without waiting');
    assert.equal(v.verifySync({})?.ok, false);
    const none = `${b64({ alg: 'none' })}.${b64({ iss: ISSUER })}.`;
    const sync = v.verifySync(bearer(none));
    assert.equal(sync !== undefined && !sync.ok && sync.reason, 'ALG_NOT_ALLOWED');
    clock.advance(69); // one second before exp + skew: the remembered result still holds
    assert.ok((await v.verify(bearer(token))).ok);
    clock.advance(1);
    assertRefused(await v.verify(bearer(token)), 'UNAUTHENTICATED', 'EXPIRED');

    // k1 retired: a token verified before is refused once the new set is fetched.
    const fresh = await sign(key1, clock, { jti: 'fresh' });
    assert.ok((await v.verify(bearer(fresh))).ok);
    server.setKeys([key2.jwk]);
    // An unknown kid makes the verifier refetch the set.
    assertRefused(
      await v.verify(bearer(await sign(key1, clock, {}, { kid: 'nope' }))),
      'UNAUTHENTICATED',
      'UNKNOWN_KID',
    );
    assertRefused(await v.verify(bearer(fresh)), 'UNAUTHENTICATED', 'UNKNOWN_KID');
    server.setKeys([key1.jwk, ecKey.jwk]);
    v.close();
  });

  it('shares one JWKS fetch among concurrent calls', async () => {
    const slow = await startJwksServer([key1.jwk]);
    slow.setMode('hang');
    const clock = new ManualClock();
    const v = createJwtVerifier(
      { issuer: ISSUER, jwks: { uri: slow.uri, timeout: 300 } },
      { now: clock.now },
    );
    const token = await sign(key1, clock);
    const results = await Promise.all(Array.from({ length: 50 }, () => v.verify(bearer(token))));
    for (const r of results) assertRefused(r, 'UNAUTHENTICATED', 'JWKS_UNAVAILABLE');
    assert.equal(slow.fetches, 1);
    // Closed: no further fetch, calls still answered.
    v.close();
    clock.advance(5);
    assertRefused(await v.verify(bearer(token)), 'UNAUTHENTICATED', 'JWKS_UNAVAILABLE');
    assert.equal(slow.fetches, 1);
    await slow.close();
  });

  it('never hangs on a JWKS server that does not answer: UNAUTHENTICATED within the timeout', async () => {
    const hanging = await startJwksServer([key1.jwk]);
    hanging.setMode('hang');
    const clock = new ManualClock();
    const errors: SecurityError[] = [];
    const v = createJwtVerifier(
      { issuer: ISSUER, jwks: { uri: hanging.uri, timeout: 300, failedRefetch: 1000 } },
      { now: clock.now, onJwksError: (e) => errors.push(e) },
    );
    const token = await sign(key1, clock);
    const result = await v.verify(bearer(token));
    assertRefused(result, 'UNAUTHENTICATED', 'JWKS_UNAVAILABLE');
    assert.match(result.ok ? '' : result.message, /no answer within 300 ms/);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'SWY_ERR_JWKS');
    assert.match(errors[0].message, new RegExp(hanging.uri.replace(/[/.]/g, '\\$&')));
    // Within failedRefetch: refused at once, no second fetch.
    const fetched = hanging.fetches;
    assertRefused(await v.verify(bearer(token)), 'UNAUTHENTICATED', 'JWKS_UNAVAILABLE');
    assert.equal(hanging.fetches, fetched);
    // The server recovers; after failedRefetch the next call fetches and verifies.
    hanging.setMode('serve');
    clock.advance(1);
    assert.ok((await v.verify(bearer(token))).ok);
    v.close();
    await hanging.close();
  });

  it('refuses with JWKS_UNAVAILABLE on a JWKS that does not parse, is too large, has no public key, or an HTTP error', async () => {
    const bad = await startJwksServer([key1.jwk]);
    const clock = new ManualClock();
    for (const [mode, pattern] of [
      ['garbage', /not valid JSON/],
      ['error', /HTTP 500/],
      ['huge', /larger than 524288 bytes/],
      ['serve', /no public signing key/],
    ] as const) {
      bad.setMode(mode);
      // A set with only a shared secret: nothing to verify signatures with.
      bad.setKeys([{ kty: 'oct', k: 'c2VjcmV0', kid: 'k1' }]);
      const errors: SecurityError[] = [];
      const v = createJwtVerifier(
        { issuer: ISSUER, jwks: { uri: bad.uri, timeout: 2000 } },
        { now: clock.now, onJwksError: (e) => errors.push(e) },
      );
      const result = await v.verify(bearer(await sign(key1, clock)));
      assertRefused(result, 'UNAUTHENTICATED', 'JWKS_UNAVAILABLE');
      assert.match(result.ok ? '' : result.message, pattern);
      assert.equal(errors.length, 1);
    }
    await bad.close();
  });

  it('keeps verifying with the last good key set when the JWKS server stops', async () => {
    const temp = await startJwksServer([key1.jwk]);
    const clock = new ManualClock();
    const errors: SecurityError[] = [];
    const v = createJwtVerifier(
      { issuer: ISSUER, jwks: { uri: temp.uri, timeout: 500 } },
      { now: clock.now, onJwksError: (e) => errors.push(e) },
    );
    assert.ok((await v.verify(bearer(await sign(key1, clock)))).ok);
    await temp.close();
    clock.advance(3600); // stale: the refetch fails, the held set stays
    assert.ok((await v.verify(bearer(await sign(key1, clock)))).ok);
    await waitFor(() => errors.length === 1);
    assert.ok((await v.verify(bearer(await sign(key1, clock)))).ok);
    v.close();
  });

  it('finds the key set through OpenID Connect discovery, and reads it again when the keys move', async () => {
    const idp = await startJwksServer([key1.jwk]);
    try {
      const clock = new ManualClock();
      const errors: SecurityError[] = [];
      const v = createJwtVerifier(
        { issuer: idp.issuer, jwks: { discovery: true, timeout: 2000, failedRefetch: 0 } },
        { now: clock.now, onJwksError: (e) => errors.push(e) },
      );
      const token = await sign(key1, clock, { aud: undefined }, { issuer: idp.issuer });
      const first = await v.verify(bearer(token));
      assert.ok(first.ok, first.ok ? '' : first.message);
      assert.equal(idp.discoveries, 1);
      assert.equal(idp.fetches, 1);
      // A rotation refetches the key set from the URL already discovered.
      idp.setKeys([key1.jwk, key2.jwk]);
      const rotated = await v.verify(bearer(await sign(key2, clock, {}, { issuer: idp.issuer })));
      assert.ok(rotated.ok, rotated.ok ? '' : rotated.message);
      assert.equal(idp.discoveries, 1);
      assert.equal(idp.fetches, 2);
      // The issuer moves its keys: the old URL fails once, then discovery is read again.
      idp.setDiscovery({ issuer: idp.issuer, jwks_uri: `${idp.uri}?v=2` });
      idp.setMode('error');
      clock.advance(3600);
      assert.ok((await v.verify(bearer(await sign(key1, clock, {}, { issuer: idp.issuer })))).ok);
      await waitFor(() => errors.length === 1);
      assert.match(errors[0].message, /jwks\.json: the JWKS server answered HTTP 500/);
      idp.setMode('serve');
      clock.advance(3600);
      assert.ok((await v.verify(bearer(await sign(key1, clock, {}, { issuer: idp.issuer })))).ok);
      await waitFor(() => idp.discoveries === 2 && idp.fetches === 4);
      assert.equal(errors.length, 1);
      v.close();
    } finally {
      await idp.close();
    }
  });

  it('refuses a discovery document for another issuer, without jwks_uri, or not JSON', async () => {
    const idp = await startJwksServer([key1.jwk]);
    try {
      const clock = new ManualClock();
      const cases: [object | string, RegExp][] = [
        [
          { issuer: 'https://elsewhere.test', jwks_uri: idp.uri },
          /names issuer "https:\/\/elsewhere\.test", not "http:\/\/127/,
        ],
        [{ issuer: idp.issuer }, /has no http\(s\) jwks_uri \(undefined\)/],
        [{ issuer: idp.issuer, jwks_uri: 'file:///etc/keys' }, /has no http\(s\) jwks_uri/],
        ['{"issuer": ', /discovery document is not valid JSON/],
      ];
      for (const [doc, pattern] of cases) {
        idp.setDiscovery(doc);
        const errors: SecurityError[] = [];
        const v = createJwtVerifier(
          { issuer: idp.issuer, jwks: { discovery: true, timeout: 2000 } },
          { now: clock.now, onJwksError: (e) => errors.push(e) },
        );
        const result = await v.verify(bearer(await sign(key1, clock, {}, { issuer: idp.issuer })));
        assertRefused(result, 'UNAUTHENTICATED', 'JWKS_UNAVAILABLE');
        assert.equal(errors.length, 1);
        assert.match(errors[0].message, pattern);
        assert.equal(errors[0].code, 'SWY_ERR_JWKS');
        v.close();
      }
      // A discovery document at a URL of its own.
      idp.setDiscovery({ issuer: ISSUER, jwks_uri: idp.uri });
      const v = createJwtVerifier(
        {
          issuer: ISSUER,
          jwks: { discovery: `${idp.issuer}/.well-known/openid-configuration`, timeout: 2000 },
        },
        { now: clock.now },
      );
      assert.ok((await v.verify(bearer(await sign(key1, clock)))).ok);
      v.close();
      assert.equal(idp.fetches, 1, 'no key set was fetched for a refused document');
    } finally {
      await idp.close();
    }
  });

  it('reads keys from a file or inline, and a token without kid when one key fits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swy-jwks-'));
    try {
      const file = join(dir, 'jwks.json');
      await writeFile(file, JSON.stringify({ keys: [key1.jwk] }));
      const clock = new ManualClock();
      const fromFile = createJwtVerifier({ issuer: ISSUER, jwks: { file } }, { now: clock.now });
      assert.ok((await fromFile.verify(bearer(await sign(key1, clock, {}, { kid: null })))).ok);
      const inline = createJwtVerifier(
        { issuer: ISSUER, jwks: { inline: { keys: [key1.jwk, key2.jwk] } } },
        { now: clock.now },
      );
      assert.ok((await inline.verify(bearer(await sign(key2, clock)))).ok);
      // Two RSA keys and no kid: no guessing.
      assertRefused(
        await inline.verify(bearer(await sign(key2, clock, {}, { kid: null }))),
        'UNAUTHENTICATED',
        'UNKNOWN_KID',
      );
      await writeFile(file, '{"keys": [');
      assert.throws(
        () => createJwtVerifier({ issuer: ISSUER, jwks: { file } }),
        (e: unknown) =>
          SecurityError.is(e) &&
          e.code === 'SWY_ERR_JWT_CONFIG' &&
          /jwks\.file: .*not valid JSON/.test(e.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses unusable settings with SWY_ERR_JWT_CONFIG naming the key', () => {
    const cases: [Partial<JwtConfig> & Record<string, unknown>, RegExp][] = [
      [{ issuer: '' }, /^issuer: /],
      [{ jwks: {} }, /^jwks: needs exactly one/],
      [{ jwks: { uri: 'https://a/j', file: '/x' } }, /has uri, file/],
      [{ jwks: { uri: 'ftp://a/j' } }, /^jwks\.uri: must be an http/],
      [{ jwks: { uri: 'https://a/j', timeout: -1 } }, /^jwks\.timeout: /],
      [{ jwks: { uri: 'https://a/j', discovery: true } }, /has uri, discovery/],
      [{ jwks: { discovery: 'ldap://a/x' } }, /^jwks\.discovery: must be an http/],
      [{ jwks: { discovery: 1 as unknown as boolean } }, /^jwks\.discovery: must be true or/],
      [{ issuer: 'urn:x', jwks: { discovery: true } }, /^issuer: must be an http/],
      [
        { jwks: { inline: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } } },
        /^jwks\.inline: .*no public signing key/,
      ],
      [{ algorithms: ['RS256', 'HS256'] }, /^algorithms\[1\]: HS256 is not allowed/],
      [{ algorithms: ['none'] }, /^algorithms\[0\]: none is not allowed/],
      [{ fromHeaders: [{ name: 'bad header' }] }, /^fromHeaders\[0\]\.name/],
      [{ forwardPayloadHeader: 'grpc-status' }, /^forwardPayloadHeader/],
      [{ requiredClaims: { tenant: [] } }, /^requiredClaims\.tenant/],
      [{ audiences: [''] }, /^audiences/],
    ];
    for (const [patch, pattern] of cases) {
      const config: JwtConfig = {
        issuer: ISSUER,
        jwks: { uri: 'https://issuer.test/jwks' },
        ...patch,
      };
      assert.throws(
        () => createJwtVerifier(config),
        (e: unknown) =>
          SecurityError.is(e) && e.code === 'SWY_ERR_JWT_CONFIG' && pattern.test(e.message),
        JSON.stringify(patch),
      );
    }
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'condition not reached within 2 s');
}
