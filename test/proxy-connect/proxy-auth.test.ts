// Proxy-Authorization for forward-proxy mode: HTTP Basic against the listener's users.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxyCredentials } from '../../forward-proxy/proxy-auth.js';

const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

void describe('ProxyCredentials', () => {
  const credentials = new ProxyCredentials([
    { user: 'ci', password: 'first' },
    // A password may hold a colon: only the user name cannot.
    { user: 'deploy', password: 'pa:ss wörd' },
  ]);

  it('admits each configured pair, and names the user', () => {
    assert.deepEqual(credentials.check(basic('ci:first')), { ok: true, user: 'ci' });
    assert.deepEqual(credentials.check(basic('deploy:pa:ss wörd')), { ok: true, user: 'deploy' });
    // The scheme is case-insensitive (RFC 9110 §11.1).
    assert.equal(credentials.check(`bAsIc ${Buffer.from('ci:first').toString('base64')}`).ok, true);
  });

  it('refuses a missing header, another scheme, and wrong or crossed pairs, saying which', () => {
    assert.deepEqual(credentials.check(undefined), {
      ok: false,
      reason: 'proxy credentials required',
    });
    assert.deepEqual(credentials.check('Bearer abc'), {
      ok: false,
      reason: 'proxy credentials must use the Basic scheme',
    });
    for (const text of ['ci:wrong', 'ci:pa:ss wörd', 'deploy:first', 'ci', ':first', '']) {
      assert.deepEqual(
        credentials.check(basic(text)),
        { ok: false, reason: 'wrong proxy credentials' },
        text,
      );
    }
    assert.deepEqual(credentials.check('Basic !!!'), {
      ok: false,
      reason: 'malformed Basic proxy credentials (not base64)',
    });
  });

  it('requires nothing without users', () => {
    assert.equal(new ProxyCredentials([]).required, false);
    assert.equal(credentials.required, true);
  });
});
