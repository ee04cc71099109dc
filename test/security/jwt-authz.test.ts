// The two primitives together, as the jwt and authz filters chain them: a token verified by
// the JWT verifier gives the claims an A43 policy's jwt_claims extension decides on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { authorize, parseAuthzPolicy } from '../../security/authz/index.js';
import { createJwtVerifier } from '../../security/jwt/index.js';

describe('JWT claims into an authorization policy', () => {
  it('allows and denies on verified claims, and never on unverified ones', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
    const now = 1_800_000_000;
    const verifier = createJwtVerifier(
      { issuer: 'https://issuer.test', jwks: { inline: { keys: [jwk] } } },
      { now: () => now * 1000 },
    );
    const policy = parseAuthzPolicy(`{
      "name": "orders",
      "deny_rules": [{"name": "suspended", "source": {"jwt_claims": [{"claim": "status", "values": ["suspended"]}]}}],
      "allow_rules": [{"name": "writers", "source": {"jwt_claims": [{"claim": "scope", "values": ["orders:write"]}]},
                       "request": {"paths": ["/orders.Orders/*"]}}]
    }`);
    const token = (claims: Record<string, unknown>) =>
      new SignJWT({ iss: 'https://issuer.test', sub: 'bob', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k' })
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(privateKey);
    const decide = async (t: string) => {
      const headers = { authorization: `Bearer ${t}` };
      const verified = await verifier.verify(headers);
      assert.ok(verified.ok, verified.ok ? '' : verified.message);
      return authorize(policy, {
        path: '/orders.Orders/Create',
        headers,
        tls: undefined,
        claims: verified.claims,
      });
    };
    assert.equal(
      (await decide(await token({ scope: 'orders:read orders:write' }))).rule,
      'writers',
    );
    const read = await decide(await token({ scope: 'orders:read' }));
    assert.equal(read.allowed, false);
    const suspended = await decide(await token({ scope: 'orders:write', status: 'suspended' }));
    assert.equal(suspended.rule, 'suspended');
    assert.equal(suspended.allowed, false);
    // A forged token never reaches the policy: the verifier refuses it first.
    const forged = (await token({ scope: 'orders:write' })).replace(/.{4}$/, 'AAAA');
    const result = await verifier.verify({ authorization: `Bearer ${forged}` });
    assert.equal(result.ok, false);
  });
});
