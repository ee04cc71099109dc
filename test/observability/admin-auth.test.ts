// The admin listener locked down, over real HTTP(S) requests: a bearer token for POST /reload
// (401 without one or with a wrong one, 200 with the right one), or for every path but the
// probes; client certificates over HTTPS; and the warning for a listener bound beyond loopback
// with no credentials asked.
import assert from 'node:assert/strict';
import https from 'node:https';
import { describe, it } from 'node:test';
import type { AdminConfig } from '../../config/types.js';
import { isLoopback } from '../../observability/admin/admin-auth.js';
import type { ReloadSummary } from '../../proxy/switchyard.js';
import { createRefusedClientCerts, createTestCerts } from '../support/certs.js';
import { adminRequest, baseUrl, startObservedProxy } from './observed-proxy.js';

const TOKEN = 'test-token-0123456789abcdef';
const SUMMARY = { routes: 1 } as unknown as ReloadSummary;

async function lockedProxy(admin: Omit<AdminConfig, 'address'>, host = '127.0.0.1') {
  return startObservedProxy(
    { config: { admin: { address: { host, port: 0 }, ...admin } } },
    { reload: () => Promise.resolve(SUMMARY) },
  );
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function httpsRequest(
  url: string,
  options: https.RequestOptions,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('admin listener credentials', () => {
  void it('a token protects POST /reload: none 401, wrong 401, right 200; reads stay open', async (t) => {
    const proxy = await lockedProxy({
      auth: { token: TOKEN, clientCert: false, protect: 'writes' },
    });
    t.after(() => proxy.close());
    const reload = (headers: Record<string, string> = {}) =>
      adminRequest(proxy.admin, '/reload', { method: 'POST', headers });

    const none = await reload();
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="switchyard admin"');
    assert.match(none.body, /POST \/reload needs credentials: authorization: Bearer <token>/);

    const wrong = await reload(bearer('not-the-token-0123456789'));
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/);
    assert.doesNotMatch(wrong.body, new RegExp(TOKEN));

    assert.equal((await reload({ authorization: `Basic ${TOKEN}` })).status, 401);
    const right = await reload(bearer(TOKEN));
    assert.equal(right.status, 200, right.body);
    assert.deepEqual(JSON.parse(right.body), SUMMARY);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    assert.equal((await reload({ authorization: `bearer ${TOKEN}` })).status, 200);

    for (const path of ['/config', '/clusters', '/metrics', '/live']) {
      assert.equal((await adminRequest(proxy.admin, path)).status, 200, path);
    }
  });

  void it('protect: all asks for the token on every path but /live and /ready', async (t) => {
    const proxy = await lockedProxy({ auth: { token: TOKEN, clientCert: false, protect: 'all' } });
    t.after(() => proxy.close());
    for (const path of ['/', '/config', '/clusters', '/metrics']) {
      assert.equal((await adminRequest(proxy.admin, path)).status, 401, path);
      const ok = await adminRequest(proxy.admin, path, { headers: bearer(TOKEN) });
      assert.equal(ok.status, 200, path);
    }
    const config = await adminRequest(proxy.admin, '/config', { headers: bearer(TOKEN) });
    assert.doesNotMatch(config.body, new RegExp(TOKEN));
    assert.match(config.body, /"token": "\[redacted\]"/);
    assert.equal((await adminRequest(proxy.admin, '/live')).status, 200);
    // 503: the default cluster has no endpoint; what matters is that it is not 401.
    assert.notEqual((await adminRequest(proxy.admin, '/ready')).status, 401);
  });

  void it('over HTTPS, a client certificate signed by admin.tls.ca is enough', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const refused = await createRefusedClientCerts(certs);
    const proxy = await lockedProxy({
      tls: {
        certFile: certs.serverCertPath,
        keyFile: certs.serverKeyPath,
        caFile: certs.caCertPath,
        minVersion: 'TLSv1.2',
      },
      auth: { token: undefined, clientCert: true, protect: 'writes' },
    });
    t.after(() => proxy.close());
    const url = `${baseUrl(proxy.observability.adminAddress!).replace('http:', 'https:')}/reload`;
    const post = (client: { cert?: Buffer; key?: Buffer }) =>
      httpsRequest(url, { method: 'POST', ca: certs.ca, servername: 'localhost', ...client });

    const withCert = await post({ cert: certs.clientCert, key: certs.clientKey });
    assert.equal(withCert.status, 200, withCert.body);
    const without = await post({});
    assert.equal(without.status, 403);
    assert.match(without.body, /a client certificate signed by admin\.tls\.ca/);
    assert.equal((await post({ cert: refused.untrusted.cert, key: certs.clientKey })).status, 403);
    assert.equal((await post({ cert: refused.expired.cert, key: certs.clientKey })).status, 403);
    // Reads need nothing under protect: writes.
    const read = await httpsRequest(url.replace('/reload', '/live'), {
      ca: certs.ca,
      servername: 'localhost',
    });
    assert.equal(read.status, 200);
  });

  void it('warns when bound beyond loopback without credentials, not otherwise', async (t) => {
    const warning = (logs: Record<string, unknown>[]) =>
      logs.filter((l) => l.level === 40 && String(l.msg).includes('asks for no credentials'));

    const open = await lockedProxy({}, '0.0.0.0');
    t.after(() => open.close());
    assert.equal(warning(open.observabilityLogs).length, 1);
    assert.match(String(warning(open.observabilityLogs)[0].msg), /set admin\.auth/);

    const locked = await lockedProxy(
      { auth: { token: TOKEN, clientCert: false, protect: 'writes' } },
      '0.0.0.0',
    );
    t.after(() => locked.close());
    assert.equal(warning(locked.observabilityLogs).length, 0);

    const local = await lockedProxy({});
    t.after(() => local.close());
    assert.equal(warning(local.observabilityLogs).length, 0);
  });

  void it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) {
      assert.equal(isLoopback(host), true, host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'admin.internal', '128.0.0.1']) {
      assert.equal(isLoopback(host), false, host);
    }
  });
});
