// Metadata value templates: each compiled shape (a constant, one name, text before or after a
// name, several names) gives the same value it would by joining the parts, and none when a
// part it needs is missing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerIdentity } from '../../common/peer-identity.js';
import type { FilterContext } from '../../filter/filter.js';
import { compileTemplate, type ValueTemplate } from '../../filter/value-template.js';

const IDENTITY: PeerIdentity = {
  subject: 'O=Acme, CN=web',
  commonName: 'web',
  dns: ['a.acme.test', 'b.acme.test'],
  uri: ['spiffe://acme.test/web'],
  spiffeId: 'spiffe://acme.test/web',
  email: [],
  ip: [],
  fingerprint256: 'AA:BB',
};

function context(
  identity: PeerIdentity | undefined,
  claims?: Record<string, unknown>,
): FilterContext {
  return {
    site: 'proxy',
    method: '/test.Echo/Unary',
    peer: { address: '127.0.0.1:5000', secure: identity !== undefined, identity },
    route: 'echo',
    listener: 'main',
    claims,
    values: new Map(),
    setRoute() {},
  };
}

function compiled(value: string): ValueTemplate {
  const t = compileTemplate(value);
  assert.ok(typeof t !== 'object', `${value}: ${JSON.stringify(t)}`);
  return t;
}

function fill(value: string, ctx: FilterContext): string | undefined {
  const t = compiled(value);
  return typeof t === 'string' ? t : t(ctx);
}

describe('value templates', () => {
  it('keeps a value without ${…} as the constant itself', () => {
    assert.equal(compiled('switchyard'), 'switchyard');
    // An unclosed ${ is text.
    assert.equal(compiled('a ${peer.cn'), 'a ${peer.cn');
  });

  it('fills each shape from the call', () => {
    const ctx = context(IDENTITY, { sub: 'u1', org: { id: 7 }, groups: ['a', 'b'] });
    assert.equal(fill('${peer.cn}', ctx), 'web');
    assert.equal(fill('${ peer.address }', ctx), '127.0.0.1:5000');
    assert.equal(fill('cn=${peer.cn}', ctx), 'cn=web');
    assert.equal(fill('${peer.cn}@acme', ctx), 'web@acme');
    assert.equal(fill('${peer.cn}${peer.spiffe}', ctx), 'webspiffe://acme.test/web');
    assert.equal(
      fill('${peer.dns} (${peer.subject})', ctx),
      'a.acme.test,b.acme.test (O=Acme, CN=web)',
    );
    assert.equal(fill('${claims.sub}/${claims.org.id}/${claims.groups}', ctx), 'u1/7/a,b');
  });

  it('gives no value when a part is missing, in every shape', () => {
    const none = context(undefined);
    for (const v of [
      '${peer.cn}',
      'cn=${peer.cn}',
      '${peer.cn}@acme',
      'x ${peer.cn} y',
      '${claims.sub}',
    ]) {
      assert.equal(fill(v, none), undefined, v);
    }
    // An empty list is missing too; the address is there without a certificate.
    assert.equal(fill('${peer.email}', context(IDENTITY)), undefined);
    assert.equal(fill('from ${peer.address}', none), 'from 127.0.0.1:5000');
  });

  it('names what a bad ${…} may hold', () => {
    const t = compileTemplate('${peer.nope}');
    assert.ok(
      typeof t === 'object' && /"\$\{peer\.nope\}" is not one of peer\.address/.test(t.problem),
    );
    assert.ok(typeof compileTemplate('${claims}') === 'object');
  });
});
