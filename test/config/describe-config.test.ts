// describeConfig: the summary `switchyard validate` prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configValidators } from '../../proxy/config-validators.js';
import { quickStartConfig } from '../../config/defaults.js';
import { describeConfig } from '../../config/describe-config.js';
import { parseConfig } from '../../config/load-config.js';

test('listeners, routes → clusters, and each cluster with policy, health and outliers', () => {
  const config = parseConfig(
    `listeners:
  - { address: "0.0.0.0:8443", tls: { cert: a.pem, key: a.key, ca: ca.pem, requireClientCert: true } }
  - { name: local, address: "[::1]:8080", maxConcurrentStreams: 400, resetLimit: { burst: 50, rate: 10 } }
  - { name: forward, address: "127.0.0.1:3128", connect: { passthrough: [.corp.example], users: [{ user: ci, password: pw }] } }
routes:
  - { name: users, match: { service: users.Users, headers: [{ name: x-tenant, exact: acme }] }, cluster: users }
  - { match: { prefix: /orders. }, cluster: orders }
clusters:
  users:
    target: dns+srv:///_grpc._tcp.users.internal
    balancer: { policy: least_loaded, decayMs: 5s }
    healthCheck: {}
    outlierDetection: { failureRateThreshold: 0.5 }
    timeouts: { default: 30s }
  orders:
    target: consul:///orders
    proxy: http://u:hunter2@proxy:3128
    resolver: { token: secret }
admin: { address: 127.0.0.1:9901 }
accessLog: { sample: 0.1 }
`,
    'x.yaml',
    { validators: configValidators, env: {}, baseDir: '/etc', checkFile: () => undefined },
  );
  assert.equal(
    describeConfig(config),
    `listeners:
  main     0.0.0.0:8443    TLS, client certificate required
  local    [::1]:8080      h2c, 400 streams per connection, resets 50 at once, then 10/s
  forward  127.0.0.1:3128  h2c, forward proxy (CONNECT, 1 passthrough pattern, credentials of 1 user required)
routes (first match wins):
  users    /users.Users/*, x-tenant = "acme"  → users
  route-2  /orders.*                          → orders
clusters:
  users   dns+srv:///_grpc._tcp.users.internal
          balancer least_loaded (decayMs 5000)
          health checks every 5s (timeout 1s, service "", down after 3, up after 1)
          outlier detection: eject after 5 failures in a row or 50 % failed of ≥ 50 calls per 10s for 30s–5m, at most 10 % of endpoints
          h2c, default deadline 30s
  orders  consul:///orders
          balancer round_robin
          health checks off
          outlier detection off
          h2c, via http://u:[redacted]@proxy:3128
          resolver (token [redacted])
admin: 127.0.0.1:9901, HTTP, no credentials asked
workers: 1, log: info (auto), access log: 10 % of calls to stdout, shutdown grace: 10s`,
  );
});

test('200,000 routes (spreading them as arguments overflowed the stack)', () => {
  const base = quickStartConfig({ listen: '127.0.0.1:0', upstream: '127.0.0.1:1' });
  const routes = Array.from({ length: 200_000 }, (_, i) => ({
    name: `r${i}`,
    match: { service: `s${i}.S`, headers: [] },
    cluster: 'default',
  }));
  const lines = describeConfig({ ...base, routes }).split('\n');
  assert.equal(lines.filter((l) => l.endsWith('→ default')).length, 200_000);
});

test("a route's and a cluster's retry or hedging policy", () => {
  const config = parseConfig(
    `listeners: [{ address: "127.0.0.1:8080" }]
routes:
  - match: { service: a.A, method: Get }
    cluster: a
    retryPolicy: { maxAttempts: 4, initialBackoff: 10ms, maxBackoff: 1s, backoffMultiplier: 2, retryableStatusCodes: [unavailable, 8] }
  - cluster: a
clusters:
  a:
    target: a.internal:1
    hedgingPolicy: { maxAttempts: 2, hedgingDelay: 30ms }
`,
    'x.yaml',
    { validators: configValidators, env: {}, baseDir: '/etc', checkFile: () => undefined },
  );
  const text = describeConfig(config);
  assert.match(
    text,
    /route-1 {2}\/a\.A\/Get {4}→ a, retries: up to 4 attempts on UNAVAILABLE, RESOURCE_EXHAUSTED\n/,
  );
  assert.match(text, /route-2 {2}every call {2}→ a\n/);
  assert.match(text, / {5}hedging: up to 2 copies, 30ms apart(\n|$)/);
});
