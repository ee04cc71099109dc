// redactConfig: proxy passwords and resolver tokens hidden; everything else as it was.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quickStartConfig } from '../../config/defaults.js';
import { REDACTED, redactConfig, redactUrl } from '../../config/redact-config.js';
import type { Config } from '../../config/types.js';

const base = quickStartConfig({ listen: ':0', upstream: 'consul:///users' });

test('proxy passwords and Consul tokens are replaced; the original is untouched', () => {
  const config: Config = {
    ...base,
    clusters: [
      {
        ...base.clusters[0],
        proxy: 'http://alice:s3cret@proxy.corp:3128',
        resolver: {
          token: 'acl-token',
          address: 'https://ops:pw@consul.corp:8501',
          waitMs: 1000,
        },
        tls: {
          caFile: '/etc/ca.pem',
          certFile: '/etc/c.pem',
          keyFile: '/etc/c.key',
          serverName: undefined,
          insecureSkipVerify: false,
        },
      },
    ],
  };
  const before = structuredClone(config);
  const safe = redactConfig(config);
  assert.deepStrictEqual(config, before);
  const c = safe.clusters[0];
  assert.equal(c.proxy, `http://alice:${REDACTED}@proxy.corp:3128`);
  assert.deepEqual(c.resolver, {
    token: REDACTED,
    address: `https://ops:${REDACTED}@consul.corp:8501`,
    waitMs: 1000,
  });
  // Key paths name where the key is, not what it is.
  assert.equal(c.tls?.keyFile, '/etc/c.key');
  assert.doesNotMatch(JSON.stringify(safe), /s3cret|acl-token|:pw@/);
});

test('redactUrl: every form of credentials, and text that is no URL', () => {
  assert.equal(redactUrl('http://proxy:3128'), 'http://proxy:3128');
  assert.equal(redactUrl('none'), 'none');
  assert.equal(redactUrl('http://token@proxy:3128'), `http://${REDACTED}@proxy:3128`);
  // An @ inside the password: URL parsers split at the last one.
  assert.equal(redactUrl('http://u:p@ss@proxy:3128'), `http://u:${REDACTED}@proxy:3128`);
  assert.equal(redactUrl('http://u:p%40ss@proxy:3128/'), `http://u:${REDACTED}@proxy:3128/`);
});

test('forward-proxy users keep their names and lose their passwords', () => {
  const listener = base.listeners[0];
  const config: Config = {
    ...base,
    listeners: [
      {
        ...listener,
        connect: {
          clusters: {},
          passthrough: [],
          tls: undefined,
          idleTimeoutMs: 0,
          users: [{ user: 'ci', password: 'hunter2-hunter2' }],
        },
      },
    ],
  };
  const safe = redactConfig(config);
  assert.deepEqual(safe.listeners[0].connect?.users, [{ user: 'ci', password: REDACTED }]);
  assert.equal(config.listeners[0].connect?.users[0].password, 'hunter2-hunter2');
  assert.ok(!JSON.stringify(safe).includes('hunter2'));
});
