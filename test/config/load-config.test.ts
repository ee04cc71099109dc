// The YAML loader: a full file to the exact Config, defaults, the quick start's equivalent,
// and a table of bad files, each with its exact message, line and column.
import assert from 'node:assert/strict';
import { describeConfig } from '../../config/describe-config.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configValidators } from '../../proxy/config-validators.js';
import { ConfigError } from '../../config/config-error.js';
import {
  DEFAULT_CIRCUIT_BREAKERS,
  DEFAULT_CONNECT,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_RETRY_BUDGET,
  quickStartConfig,
} from '../../config/defaults.js';
import { loadConfig, parseConfig, type LoadConfigOptions } from '../../config/load-config.js';
import type { Config } from '../../config/types.js';

const FILE = 'switchyard.yaml';
const OPTIONS: LoadConfigOptions = {
  validators: configValidators,
  env: {},
  baseDir: '/etc/switchyard',
  // Certificate files are checked in their own tests; here every name is readable but "missing.pem".
  checkFile: (path) => (path.endsWith('missing.pem') ? 'ENOENT' : undefined),
};

function load(text: string): Config {
  return parseConfig(text, FILE, OPTIONS);
}

/** The formatted issues of a file that must be rejected. */
function problems(text: string): string[] {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'SWY_ERR_CONFIG_INVALID');
    return err.message.split('\n');
  }
  assert.fail('the config was accepted');
}

const FULL = `
listeners:
  - address: 0.0.0.0:8080
    tls: { cert: server.pem, key: /keys/server.key, ca: clients-ca.pem, requireClientCert: true }
    handshakeTimeout: 5s
    idleTimeout: 0s
    maxConcurrentStreams: 100
    stalledStreamTimeout: 30s
    connectionBufferLimit: 1048576
    maxFilteredMessageSize: 16777216
    resetLimit: { burst: 100, rate: 2.5 }
    pingAfterSilence: 0s
    pingTimeout: 3s
    closeTimeout: 250ms
  - name: local
    address: "[::1]:8081"
    connect:
      clusters: { Users.Internal:443: users, "[fd00::1]:50051": orders }
      passthrough: [api.example.com:443, .corp.example, 10.0.0.0/8, "*"]
      tls: { cert: tunnel.pem, key: tunnel.key }
      idleTimeout: 5m
      users: [{ user: ci, password: s3cret }]
  - name: forward
    address: 127.0.0.1:3128
    connect: {}
routes:
  - name: users-get
    match: { service: users.Users, method: Get, headers: [{ name: X-Tenant, exact: 42 }, { name: x-debug, present: false }] }
    cluster: users
    retryPolicy: { maxAttempts: 4, initialBackoff: 20ms, maxBackoff: 1s, backoffMultiplier: 3, retryableStatusCodes: [unavailable, ABORTED] }
  - match: { prefix: /orders., headers: [{ name: x-canary }, { name: x-v, regex: "v[0-9]+" }] }
    cluster: orders
clusters:
  users:
    target: dns+srv:///_grpc._tcp.users.internal
    balancer: { policy: least_loaded, decayMs: 5s, scoring: in_flight }
    timeouts: { default: 30s, max: 5m, connect: 1s }
    authority: users.internal
    tls: { ca: ca.pem, cert: client.pem, key: client.key, serverName: users.internal, insecureSkipVerify: false }
    proxy: http://proxy.corp:3128
    keepalive: { time: 0s, timeout: 2s, idleTime: 1m }
    resetLimit: { burst: 200, rate: 6.5 }
    idleTimeout: 2m
    panicThreshold: 0.25
    healthCheck: { service: users.Users, interval: 2s }
    outlierDetection: { failureRateThreshold: 0.5, minimumCalls: 20, maxEjectedShare: 0.5 }
    retryPolicy: { maxAttempts: 7, initialBackoff: 50ms, maxBackoff: 0.5s, backoffMultiplier: 2, retryableStatusCodes: [UNAVAILABLE, resource_exhausted, 14], perTryTimeout: 2s }
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1234 }
    retryBudget: { percent: 10 }
    circuitBreakers: { maxConcurrentCalls: 500, maxPendingCalls: 50, maxConcurrentRetries: 5 }
    resolver: { servers: [10.0.0.53], minRefreshMs: 500, maxRefreshMs: 10s }
  orders:
    target: consul:///orders?tag=prod
    balancer: ring_hash
    proxy: none
    tls: {}
    hedgingPolicy: { maxAttempts: 3, hedgingDelay: 100ms, nonFatalStatusCodes: [unavailable] }
    resolver: { token: secret, waitMs: 1m }
admin: { address: 127.0.0.1:9901 }
workers: auto
log: { level: debug, format: json }
accessLog: { sample: 0.5, destination: logs/access.log }
shutdownGrace: 1m30s
`;

void describe('loading a valid file', () => {
  void it('gives every key its value, in Config names and units', () => {
    const expected: Config = {
      listeners: [
        {
          name: 'main',
          address: { host: '0.0.0.0', port: 8080 },
          tls: {
            certFile: '/etc/switchyard/server.pem',
            keyFile: '/keys/server.key',
            caFile: '/etc/switchyard/clients-ca.pem',
            requireClientCert: true,
            minVersion: 'TLSv1.2',
            ciphers: undefined,
            watch: true,
            expiryWarningDays: 14,
          },
          handshakeTimeoutMs: 5_000,
          idleTimeoutMs: 0,
          maxConcurrentStreams: 100,
          stalledStreamTimeoutMs: 30_000,
          connectionBufferLimit: 1 << 20,
          maxFilteredMessageBytes: 16 << 20,
          resetLimit: { burst: 100, rate: 2.5 },
          pingAfterSilenceMs: 0,
          pingTimeoutMs: 3_000,
          closeTimeoutMs: 250,
          connect: undefined,
        },
        {
          name: 'local',
          address: { host: '::1', port: 8081 },
          tls: undefined,
          handshakeTimeoutMs: 10_000,
          idleTimeoutMs: 3_600_000,
          maxConcurrentStreams: 100,
          stalledStreamTimeoutMs: 60_000,
          connectionBufferLimit: 32 << 20,
          maxFilteredMessageBytes: 4 << 20,
          resetLimit: { burst: 500, rate: 33 },
          pingAfterSilenceMs: 2_000,
          pingTimeoutMs: 20_000,
          closeTimeoutMs: 1_000,
          connect: {
            clusters: { 'users.internal:443': 'users', '[fd00::1]:50051': 'orders' },
            passthrough: ['api.example.com:443', '.corp.example', '10.0.0.0/8', '*'],
            tls: {
              certFile: '/etc/switchyard/tunnel.pem',
              keyFile: '/etc/switchyard/tunnel.key',
            },
            idleTimeoutMs: 300_000,
            users: [{ user: 'ci', password: 's3cret' }],
          },
        },
        {
          name: 'forward',
          address: { host: '127.0.0.1', port: 3128 },
          tls: undefined,
          handshakeTimeoutMs: 10_000,
          idleTimeoutMs: 3_600_000,
          maxConcurrentStreams: 100,
          stalledStreamTimeoutMs: 60_000,
          connectionBufferLimit: 32 << 20,
          maxFilteredMessageBytes: 4 << 20,
          resetLimit: { burst: 500, rate: 33 },
          pingAfterSilenceMs: 2_000,
          pingTimeoutMs: 20_000,
          closeTimeoutMs: 1_000,
          connect: { ...DEFAULT_CONNECT },
        },
      ],
      routes: [
        {
          name: 'users-get',
          match: {
            service: 'users.Users',
            method: 'Get',
            headers: [
              { name: 'x-tenant', exact: '42' },
              { name: 'x-debug', present: false },
            ],
          },
          cluster: 'users',
          retryPolicy: {
            maxAttempts: 4,
            initialBackoffMs: 20,
            maxBackoffMs: 1_000,
            backoffMultiplier: 3,
            retryableStatusCodes: [14, 10],
            perTryTimeoutMs: undefined,
            retryClientRetries: false,
          },
          hedgingPolicy: undefined,
        },
        {
          name: 'route-2',
          match: {
            prefix: '/orders.',
            headers: [{ name: 'x-canary' }, { name: 'x-v', regex: 'v[0-9]+' }],
          },
          cluster: 'orders',
        },
      ],
      clusters: [
        {
          name: 'users',
          target: 'dns+srv:///_grpc._tcp.users.internal',
          parsedTarget: {
            scheme: 'dns+srv',
            nameserver: undefined,
            name: '_grpc._tcp.users.internal',
          },
          balancer: { policy: 'least_loaded', settings: { decayMs: 5_000, scoring: 'in_flight' } },
          timeouts: { defaultMs: 30_000, maxMs: 300_000, connectMs: 1_000 },
          authority: 'users.internal',
          tls: {
            caFile: '/etc/switchyard/ca.pem',
            certFile: '/etc/switchyard/client.pem',
            keyFile: '/etc/switchyard/client.key',
            serverName: 'users.internal',
            insecureSkipVerify: false,
          },
          proxy: 'http://proxy.corp:3128',
          keepalive: { timeMs: 0, timeoutMs: 2_000, idleTimeMs: 60_000 },
          resetLimit: { burst: 200, rate: 6.5 },
          idleTimeoutMs: 120_000,
          panicThreshold: 0.25,
          healthCheck: { ...DEFAULT_HEALTH_CHECK, service: 'users.Users', intervalMs: 2_000 },
          outlierDetection: {
            ...DEFAULT_OUTLIER_DETECTION,
            failureRateThreshold: 0.5,
            minimumCalls: 20,
            maxEjectedShare: 0.5,
          },
          retryPolicy: {
            maxAttempts: 5,
            initialBackoffMs: 50,
            maxBackoffMs: 500,
            backoffMultiplier: 2,
            retryableStatusCodes: [14, 8],
            perTryTimeoutMs: 2_000,
            retryClientRetries: false,
          },
          hedgingPolicy: undefined,
          retryThrottling: { maxTokens: 10, tokenRatio: 0.123 },
          retryBudget: { ...DEFAULT_RETRY_BUDGET, percent: 10 },
          circuitBreakers: {
            maxConcurrentCalls: 500,
            maxPendingCalls: 50,
            maxConcurrentRetries: 5,
          },
          resolver: { servers: ['10.0.0.53'], minRefreshMs: 500, maxRefreshMs: 10_000 },
        },
        {
          name: 'orders',
          target: 'consul:///orders?tag=prod',
          parsedTarget: {
            scheme: 'consul',
            agent: undefined,
            service: 'orders',
            tags: ['prod'],
            datacenter: undefined,
            namespace: undefined,
            filter: undefined,
          },
          balancer: { policy: 'ring_hash', settings: {} },
          timeouts: { defaultMs: undefined, maxMs: undefined, connectMs: 5_000 },
          authority: undefined,
          tls: {
            caFile: undefined,
            certFile: undefined,
            keyFile: undefined,
            serverName: undefined,
            insecureSkipVerify: false,
          },
          proxy: 'none',
          keepalive: { timeMs: 30_000, timeoutMs: 5_000, idleTimeMs: 300_000 },
          resetLimit: { burst: 1_000, rate: 33 },
          idleTimeoutMs: 60_000,
          panicThreshold: 0.5,
          healthCheck: undefined,
          outlierDetection: undefined,
          retryPolicy: undefined,
          hedgingPolicy: { maxAttempts: 3, hedgingDelayMs: 100, nonFatalStatusCodes: [14] },
          retryThrottling: undefined,
          retryBudget: DEFAULT_RETRY_BUDGET,
          circuitBreakers: DEFAULT_CIRCUIT_BREAKERS,
          resolver: { token: 'secret', waitMs: 60_000 },
        },
      ],
      admin: { address: { host: '127.0.0.1', port: 9901 } },
      workers: 'auto',
      log: { level: 'debug', format: 'json' },
      accessLog: { sample: 0.5, destination: '/etc/switchyard/logs/access.log' },
      shutdownGraceMs: 90_000,
    };
    assert.deepStrictEqual(load(FULL), expected);
  });

  void it('a minimal file means what the same quick start means', () => {
    const config = load(
      'listeners: [{ address: 127.0.0.1:8080 }]\nclusters: { default: { target: "10.0.0.1:1,10.0.0.2:1" } }\n',
    );
    assert.deepStrictEqual(
      config,
      quickStartConfig({ listen: '127.0.0.1:8080', upstream: '10.0.0.1:1,10.0.0.2:1' }),
    );
  });

  void it('with one cluster and no routes, every call goes to it', () => {
    const config = load('listeners: [{ address: ":0" }]\nclusters: { only: { target: a:1 } }');
    assert.deepStrictEqual(config.routes, [
      { name: 'default', match: { headers: [] }, cluster: 'only' },
    ]);
    assert.deepEqual(config.listeners[0].address, { host: '0.0.0.0', port: 0 });
  });

  void it("a route's retryPolicy: off is kept as off; describe says so", () => {
    const config = load(
      'listeners: [{ address: ":0" }]\nclusters:\n  a: { target: a:1, retryPolicy: { maxAttempts: 3, initialBackoff: 10ms, maxBackoff: 1s, backoffMultiplier: 2, retryableStatusCodes: [UNAVAILABLE] } }\nroutes: [{ name: once, match: { service: a.A, method: Create }, cluster: a, retryPolicy: off }, { cluster: a }]',
    );
    assert.equal(config.routes[0].retryPolicy, 'off');
    assert.equal(config.routes[1].retryPolicy, undefined);
    assert.match(describeConfig(config), /once .* → a, no retries/);
  });

  void it('healthCheck: {} and outlierDetection: {} turn them on with the defaults; null is absent', () => {
    const config = load(
      'listeners: [{ address: ":0" }]\nclusters:\n  a: { target: a:1, healthCheck: {}, outlierDetection: {} }\n  b: { target: b:1, healthCheck: ~, tls: }\nroutes: [{ cluster: a }, { cluster: b }]',
    );
    assert.deepStrictEqual(config.clusters[0].healthCheck, DEFAULT_HEALTH_CHECK);
    assert.deepStrictEqual(config.clusters[0].outlierDetection, DEFAULT_OUTLIER_DETECTION);
    assert.equal(config.clusters[1].healthCheck, undefined);
    assert.equal(config.clusters[1].tls, undefined);
    assert.deepEqual(
      config.routes.map((r) => r.name),
      ['route-1', 'route-2'],
    );
  });

  void it('anchors, aliases and merge keys share settings', () => {
    const config = load(`
listeners: [{ address: ":0" }]
routes: [{ cluster: a }, { cluster: b }]
clusters:
  a: &common
    target: dns:///a.internal:50051
    timeouts: { default: 5s }
    outlierDetection: {}
  b:
    <<: *common
    target: dns:///b.internal:50051
`);
    assert.equal(config.clusters[1].target, 'dns:///b.internal:50051');
    assert.equal(config.clusters[1].timeouts.defaultMs, 5_000);
    assert.deepStrictEqual(config.clusters[1].outlierDetection, DEFAULT_OUTLIER_DETECTION);
  });

  void it('loadConfig reads the file and resolves paths against its folder', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-config-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'cert.pem'), 'not really a certificate');
    await writeFile(join(dir, 'key.pem'), 'not really a key');
    const file = join(dir, 'switchyard.yaml');
    await writeFile(
      file,
      'listeners: [{ address: ":0", tls: { cert: cert.pem, key: ./key.pem } }]\nclusters: { c: { target: a:1 } }\n',
    );
    const config = await loadConfig(file, { validators: configValidators, env: {} });
    assert.equal(config.listeners[0].tls?.certFile, join(dir, 'cert.pem'));
    assert.equal(config.listeners[0].tls?.keyFile, join(dir, 'key.pem'));

    // The real file check: a missing key and a folder in place of a certificate.
    await writeFile(
      file,
      'listeners: [{ address: ":0", tls: { cert: ".", key: nokey.pem } }]\nclusters: { c: { target: a:1 } }\n',
    );
    await assert.rejects(loadConfig(file, { validators: configValidators, env: {} }), {
      name: 'ConfigError',
      message:
        `${file}:1:43 listeners[0].tls.cert: cannot read ${dir}: not a regular file\n` +
        `${file}:1:53 listeners[0].tls.key: cannot read ${join(dir, 'nokey.pem')}: ENOENT`,
    });

    const missing = join(dir, 'nothing.yaml');
    await assert.rejects(loadConfig(missing, { validators: configValidators }), {
      name: 'ConfigError',
      code: 'SWY_ERR_CONFIG_READ',
      message: `${missing}: cannot read the config file: ENOENT`,
    });
  });
});

// Each bad file and every message it must produce, in order.
const BAD: readonly { name: string; yaml: string; errors: string[] }[] = [
  {
    name: 'unknown policy, with a suggestion',
    yaml: `listeners: [{ address: ":0" }]
clusters:
  users:
    target: a:1
    balancer: least_laoded
`,
    errors: [
      'switchyard.yaml:5:15 clusters.users.balancer: unknown balancing policy "least_laoded" (did you mean "least_loaded"?); known: round_robin, least_loaded, weighted_round_robin, ring_hash',
    ],
  },
  {
    name: 'unknown keys, with and without a suggestion',
    yaml: `listeners:
  - adress: ":0"
    colour: blue
clusters: { c: { target: a:1, helthCheck: {} } }
`,
    errors: [
      'switchyard.yaml:2:5 listeners[0]: missing required key "address"',
      'switchyard.yaml:2:5 listeners[0].adress: unknown key "adress" (did you mean "address"?)',
      'switchyard.yaml:3:5 listeners[0].colour: unknown key "colour" (expected name, address, tls, handshakeTimeout, idleTimeout, maxConcurrentStreams, stalledStreamTimeout, connectionBufferLimit, maxFilteredMessageSize, resetLimit, pingAfterSilence, pingTimeout, closeTimeout, connect, gateway or filters)',
      'switchyard.yaml:4:31 clusters.c.helthCheck: unknown key "helthCheck" (did you mean "healthCheck"?)',
    ],
  },
  {
    name: 'wrong types',
    yaml: `listeners: [{ address: ":0", maxConcurrentStreams: many }]
clusters:
  c:
    target: [a, b]
    panicThreshold: 2
    tls: true
workers: "4"
log: { level: loud }
`,
    errors: [
      'switchyard.yaml:1:52 listeners[0].maxConcurrentStreams: must be a whole number at least 1, got string "many"',
      'switchyard.yaml:4:13 clusters.c.target: must be a string, got a list',
      'switchyard.yaml:5:21 clusters.c.panicThreshold: must be from 0 to 1, got 2',
      'switchyard.yaml:6:10 clusters.c.tls: must be a mapping, got boolean true',
      'switchyard.yaml:7:10 workers: must be a whole number from 1 to 1024 or "auto", got string "4"',
      'switchyard.yaml:8:15 log.level: must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got string "loud"',
    ],
  },
  {
    name: 'bad durations',
    yaml: `listeners: [{ address: ":0", idleTimeout: 30, handshakeTimeout: 0s }]
clusters:
  c:
    target: a:1
    timeouts: { default: 1 minute, max: 10s }
    balancer: { policy: least_loaded, decayMs: soon }
    resolver: { minRefreshMs: 2x }
shutdownGrace: 2h
`,
    errors: [
      'switchyard.yaml:1:43 listeners[0].idleTimeout: 30 needs a unit: write "30s" or "30ms" (units: ms, s, m, h)',
      'switchyard.yaml:1:65 listeners[0].handshakeTimeout: must be at least 1ms, got 0s',
      'switchyard.yaml:5:26 clusters.c.timeouts.default: "1 minute" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")',
      'switchyard.yaml:6:48 clusters.c.balancer.decayMs: "soon" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")',
      'switchyard.yaml:7:31 clusters.c.resolver.minRefreshMs: "2x" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")',
      'switchyard.yaml:8:16 shutdownGrace: must be from 0s to 1h, got 2h',
    ],
  },
  {
    name: 'bad addresses and targets',
    yaml: `listeners:
  - address: 8080
  - address: localhost
  - address: "10.0.0.1:99999"
admin: { address: "[::1]" }
clusters:
  c: { target: "dns:///bad host:1" }
  d: { target: "mdns:///x" }
routes: [{ cluster: c }, { cluster: d }]
`,
    errors: [
      'switchyard.yaml:2:14 listeners[0].address: 8080 is not an address: write ":8080" or "0.0.0.0:8080"',
      'switchyard.yaml:3:14 listeners[1].address: "localhost" is not an address (expected host:port, [v6]:port or :port)',
      'switchyard.yaml:4:14 listeners[2].address: port 99999 is out of range (0-65535)',
      'switchyard.yaml:5:19 admin.address: "[::1]" is not an address (expected host:port, [v6]:port or :port)',
      'switchyard.yaml:7:16 clusters.c.target: invalid target "dns:///bad host:1": "bad host" is not a valid host name or IP address',
      'switchyard.yaml:8:16 clusters.d.target: invalid target "mdns:///x": unknown scheme "mdns" (expected dns, dns+srv, consul, static or a bare host:port)',
    ],
  },
  {
    name: 'duplicate names, keys and addresses',
    yaml: `listeners:
  - { name: edge, address: "0.0.0.0:80" }
  - { name: edge, address: "0.0.0.0:80" }
  - { name: listener-4, address: ":0" }
  - { address: ":0" }
admin: { address: "0.0.0.0:80" }
routes:
  - { name: r, cluster: c }
  - { name: r, cluster: c }
clusters:
  c: { target: a:1 }
  c: { target: b:1 }
`,
    errors: [
      'switchyard.yaml:3:13 listeners[1].name: duplicate name "edge" (also listeners[0])',
      'switchyard.yaml:3:28 listeners[1].address: 0.0.0.0:80 is already used by listener "edge"',
      'switchyard.yaml:5:5 listeners[3]: duplicate name "listener-4" (also listeners[2])',
      'switchyard.yaml:6:19 admin.address: 0.0.0.0:80 is already used by listener "edge"',
      'switchyard.yaml:9:13 routes[1].name: duplicate name "r" (also routes[0])',
      'switchyard.yaml:12:3 clusters.c: duplicate key "c" (first written on line 11)',
    ],
  },
  {
    name: 'routes to undefined clusters, and no routes with several clusters',
    yaml: `listeners: [{ address: ":0" }]
routes:
  - match: { service: users.Users }
    cluster: user
  - match: { method: Get, prefix: users }
    cluster: nowhere
clusters: { users: { target: a:1 }, orders: { target: b:1 } }
`,
    errors: [
      'switchyard.yaml:4:14 routes[0].cluster: unknown cluster "user" (did you mean "users"?); defined: users, orders',
      'switchyard.yaml:5:22 routes[1].match.method: needs `service` (a method name alone could belong to any service)',
      'switchyard.yaml:5:35 routes[1].match.prefix: "users" must start with "/" (it is matched against the :path, /package.Service/Method)',
      'switchyard.yaml:6:14 routes[1].cluster: unknown cluster "nowhere"; defined: users, orders',
    ],
  },
  {
    name: 'several clusters and no routes',
    yaml: `listeners: [{ address: ":0" }]
clusters: { a: { target: a:1 }, b: { target: b:1 } }
`,
    errors: [
      'switchyard.yaml:2:1 clusters: 2 clusters and no routes: add routes to say which calls go to which cluster',
    ],
  },
  {
    name: 'header matches',
    yaml: `listeners: [{ address: ":0" }]
routes:
  - match:
      headers:
        - { name: "x tenant", exact: a }
        - { name: x-a, exact: a, regex: "(" }
        - { name: x-b, prefix: a, present: true }
    cluster: c
clusters: { c: { target: a:1 } }
`,
    errors: [
      'switchyard.yaml:5:19 routes[0].match.headers[0].name: "x tenant" must be a header (metadata) name such as "x-tenant"',
      'switchyard.yaml:6:41 routes[0].match.headers[1].regex: not a regular expression: Invalid regular expression: /(/: Unterminated group',
      'switchyard.yaml:7:44 routes[0].match.headers[2].present: a header match takes one of exact, prefix, regex or present; this one has prefix and present',
    ],
  },
  {
    name: 'policy settings and resolver options, checked by their owners',
    yaml: `listeners: [{ address: ":0" }]
routes: [{ cluster: a }, { cluster: b }, { cluster: c }, { cluster: d }]
clusters:
  a:
    target: a:1
    balancer: { policy: ring_hash, minRingSize: 4096, maxRingSize: 1024 }
  b:
    target: consul:///b
    balancer: { decayMs: 1s }
    resolver: { token: "", wait: 5s }
  c:
    target: static:///10.0.0.1:1
    balancer: { policy: 7 }
    resolver: { servers: [10.0.0.53] }
  d:
    target: d:1
    balancer: { policy: ring_hash, hashkey: x, minRingSize: 0 }
`,
    errors: [
      'switchyard.yaml:6:49 clusters.a.balancer.minRingSize: minRingSize (4096) must not exceed maxRingSize (1024)',
      'switchyard.yaml:9:15 clusters.b.balancer: missing required key "policy"',
      'switchyard.yaml:10:24 clusters.b.resolver.token: must be a non-empty string',
      'switchyard.yaml:10:28 clusters.b.resolver.wait: unknown option for consul (expected one of address, token, datacenter, namespace, waitMs, timeoutMs, minIntervalMs, backoffInitialMs, backoffMaxMs, backoffMultiplier, backoffJitter)',
      'switchyard.yaml:13:25 clusters.c.balancer.policy: must be a policy name, got number 7',
      'switchyard.yaml:14:17 clusters.c.resolver.servers: unknown option for static (takes no options)',
      'switchyard.yaml:17:36 clusters.d.balancer.hashkey: unknown setting "hashkey" (did you mean "hashKey"?); known: hashKey, minRingSize, maxRingSize',
      'switchyard.yaml:17:61 clusters.d.balancer.minRingSize: minRingSize must be between 1 and 8388608, got 0',
    ],
  },
  {
    name: 'TLS: unreadable files, half a client certificate, mTLS without a CA',
    yaml: `listeners:
  - address: ":0"
    tls: { cert: missing.pem, key: k.pem, requireClientCert: true, peerLabel: spiffe }
  - address: ":1"
    tls: { cert: c.pem, key: k.pem, peerLabel: fingerprint }
clusters:
  c:
    target: a:1
    tls: { cert: client.pem }
`,
    errors: [
      'switchyard.yaml:3:18 listeners[0].tls.cert: cannot read /etc/switchyard/missing.pem: ENOENT',
      'switchyard.yaml:3:62 listeners[0].tls.requireClientCert: needs `ca` to check client certificates against',
      'switchyard.yaml:3:79 listeners[0].tls.peerLabel: needs `ca`: only a verified client certificate has an identity',
      'switchyard.yaml:5:48 listeners[1].tls.peerLabel: must be one of "spiffe", "uri", "dns", "email", "cn", "subject", got string "fingerprint"',
      'switchyard.yaml:9:10 clusters.c.tls: has `cert` but no `key` (a client certificate needs both)',
    ],
  },
  {
    name: 'listener TLS settings and a locked admin listener',
    yaml: `listeners:
  - address: ":0"
    tls: { cert: c.pem, key: k.pem, minVersion: TLSv1.1, ciphers: NO-SUCH-CIPHER, expiryWarningDays: -1 }
clusters: { c: { target: a:1 } }
admin:
  address: 0.0.0.0:9901
  auth: { token: short, clientCert: true, protect: some }
`,
    errors: [
      'switchyard.yaml:3:49 listeners[0].tls.minVersion: must be one of "TLSv1.2", "TLSv1.3", got string "TLSv1.1" (did you mean "TLSv1.2"?)',
      'switchyard.yaml:3:67 listeners[0].tls.ciphers: "NO-SUCH-CIPHER" names no cipher OpenSSL knows (an OpenSSL cipher list such as "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")',
      'switchyard.yaml:3:102 listeners[0].tls.expiryWarningDays: must be from 0 to 3650, got -1',
      'switchyard.yaml:7:18 admin.auth.token: is 5 characters long; use at least 16',
      'switchyard.yaml:7:37 admin.auth.clientCert: needs `admin.tls.ca` to check client certificates against',
      'switchyard.yaml:7:52 admin.auth.protect: must be one of "writes", "all", got string "some"',
    ],
  },
  {
    name: 'an admin auth block with no credential',
    yaml: `listeners: [{ address: ":0" }]
clusters: { c: { target: a:1 } }
admin: { auth: { protect: all } }
`,
    errors: [
      'switchyard.yaml:3:10 admin.auth: names no credential: set `token`, or `clientCert: true`',
    ],
  },
  {
    name: 'cross-key limits',
    yaml: `listeners: [{ address: ":0" }]
clusters:
  c:
    target: a:1
    timeouts: { default: 1m, max: 10s }
    outlierDetection: { baseEjection: 10m, consecutiveFailures: 0 }
    proxy: "socks5://p:1080"
  d:
    target: d:1
    proxy: https://proxy.corp:3129
routes: [{ cluster: c }, { cluster: d }]
`,
    errors: [
      'switchyard.yaml:5:26 clusters.c.timeouts.default: must not exceed timeouts.max',
      'switchyard.yaml:6:39 clusters.c.outlierDetection.baseEjection: must not exceed maxEjection',
      'switchyard.yaml:6:65 clusters.c.outlierDetection.consecutiveFailures: 0 with no failureRateThreshold turns every rule off (remove outlierDetection instead)',
      'switchyard.yaml:7:12 clusters.c.proxy: "socks5://p:1080": only http:// and https:// proxies (HTTP CONNECT) are supported',
    ],
  },
  {
    name: 'retry policy, throttling, budget and circuit breakers',
    yaml: `listeners: [{ address: ":0" }]
clusters:
  c:
    target: a:1
    retryPolicy: { maxAttempts: 1, initialBackoff: 1s, maxBackoff: 100ms, backoffMultiplier: 0, retryableStatusCodes: [UNAVAILBLE, 17] }
    retryThrottling: { maxTokens: 0, tokenRatio: 0.1 }
    retryBudget: { percent: 120, minRetries: 3 }
    circuitBreakers: { maxConcurrentCalls: 0 }
  d:
    target: d:1
    retryPolicy: { maxAttempts: 3, initialBackoff: 10ms, maxBackoff: 1s, backoffMultiplier: 2 }
    hedgingPolicy: { maxAttempts: 2 }
routes: [{ cluster: c }, { cluster: d }]
`,
    errors: [
      'switchyard.yaml:5:33 clusters.c.retryPolicy.maxAttempts: must be at least 2, got 1',
      'switchyard.yaml:5:52 clusters.c.retryPolicy.initialBackoff: must not exceed maxBackoff',
      'switchyard.yaml:5:94 clusters.c.retryPolicy.backoffMultiplier: must be above 0',
      'switchyard.yaml:5:120 clusters.c.retryPolicy.retryableStatusCodes[0]: must be a gRPC status name such as UNAVAILABLE, or a code from 0 to 16, got string "UNAVAILBLE"',
      'switchyard.yaml:5:132 clusters.c.retryPolicy.retryableStatusCodes[1]: must be a gRPC status name such as UNAVAILABLE, or a code from 0 to 16, got number 17',
      'switchyard.yaml:6:35 clusters.c.retryThrottling.maxTokens: must be above 0',
      'switchyard.yaml:7:29 clusters.c.retryBudget.percent: must be from 0 to 100, got 120',
      'switchyard.yaml:7:34 clusters.c.retryBudget.minRetries: unknown key "minRetries" (expected percent or minRetriesPerSecond)',
      'switchyard.yaml:8:44 clusters.c.circuitBreakers.maxConcurrentCalls: must be at least 1, got 0',
      'switchyard.yaml:11:18 clusters.d.retryPolicy: missing required key "retryableStatusCodes"',
      'switchyard.yaml:12:20 clusters.d.hedgingPolicy: a cluster has retryPolicy or hedgingPolicy, not both (gRFC A6)',
    ],
  },
  {
    name: 'per-route retry and hedging policies',
    yaml: `listeners: [{ address: ":0" }]
clusters: { c: { target: a:1 } }
routes:
  - match: { service: a.A, method: Get }
    cluster: c
    retryPolicy: { maxAttempts: 3, initialBackoff: 1s, maxBackoff: 10ms, backoffMultiplier: 2, retryableStatusCodes: [UNAVAILABLE] }
  - match: { service: a.A }
    cluster: c
    retryPolicy: { maxAttempts: 3, initialBackoff: 10ms, maxBackoff: 1s, backoffMultiplier: 2, retryableStatusCodes: [UNAVAILABLE], colour: blue }
    hedgingPolicy: { maxAttempts: 2 }
  - cluster: c
    hedgingPolicy: { maxAttempts: 1, nonFatalStatusCodes: [UNAVAILBLE] }
  - cluster: c
    retryPolicy: sometimes
`,
    errors: [
      'switchyard.yaml:6:52 routes[0].retryPolicy.initialBackoff: must not exceed maxBackoff',
      'switchyard.yaml:9:133 routes[1].retryPolicy.colour: unknown key "colour" (expected maxAttempts, initialBackoff, maxBackoff, backoffMultiplier, retryableStatusCodes, perTryTimeout or retryClientRetries)',
      'switchyard.yaml:10:20 routes[1].hedgingPolicy: a route has retryPolicy or hedgingPolicy, not both (gRFC A6)',
      'switchyard.yaml:12:35 routes[2].hedgingPolicy.maxAttempts: must be at least 2, got 1',
      'switchyard.yaml:12:60 routes[2].hedgingPolicy.nonFatalStatusCodes[0]: must be a gRPC status name such as UNAVAILABLE, or a code from 0 to 16, got string "UNAVAILBLE"',
      'switchyard.yaml:14:18 routes[3].retryPolicy: must be a retry policy (a mapping), or off, got string "sometimes"',
    ],
  },
  {
    name: 'forward-proxy mode: clusters that do not exist, bad targets and patterns',
    yaml: `listeners:
  - address: ":0"
    connect:
      clusters: { "users:443": user, "bad host": users, "a:99999": users }
      passthrough: [".ok.example", "10.0.0.0/33", "a:b:c", "x y", "[::1]:0", "-bad-"]
      tls: { cert: c.pem }
      idleTimeout: soon
      colour: blue
clusters: { users: { target: a:1 } }
`,
    errors: [
      'switchyard.yaml:4:32 listeners[0].connect.clusters["users:443"]: unknown cluster "user" (did you mean "users"?); defined: users',
      'switchyard.yaml:4:38 listeners[0].connect.clusters["bad host"]: "bad host" is not host or host:port',
      'switchyard.yaml:4:57 listeners[0].connect.clusters["a:99999"]: "a:99999" is not host or host:port',
      'switchyard.yaml:5:36 listeners[0].connect.passthrough[1]: "10.0.0.0/33" is not a CIDR range such as 10.0.0.0/8 or fd00::/8',
      'switchyard.yaml:5:51 listeners[0].connect.passthrough[2]: "a:b:c" is not a host pattern (host, .domain, IP address, CIDR range, each with an optional :port, or *)',
      'switchyard.yaml:5:60 listeners[0].connect.passthrough[3]: "x y" is not a host pattern (host, .domain, IP address, CIDR range, each with an optional :port, or *)',
      'switchyard.yaml:5:67 listeners[0].connect.passthrough[4]: "[::1]:0" has a bad port',
      'switchyard.yaml:5:78 listeners[0].connect.passthrough[5]: "-bad-" is not a host pattern (host, .domain, IP address, CIDR range, each with an optional :port, or *)',
      'switchyard.yaml:6:12 listeners[0].connect.tls: missing required key "key"',
      'switchyard.yaml:7:20 listeners[0].connect.idleTimeout: "soon" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")',
      'switchyard.yaml:8:7 listeners[0].connect.colour: unknown key "colour" (expected clusters, passthrough, tls, idleTimeout or users)',
    ],
  },
  {
    name: 'missing sections and an empty file',
    yaml: `# nothing here
`,
    errors: ['switchyard.yaml:1:1: the file is empty: it needs listeners and clusters'],
  },
  {
    name: 'missing sections',
    yaml: `listeners: []
log: { level: info }
`,
    errors: [
      'switchyard.yaml:1:1: missing required key "clusters"',
      'switchyard.yaml:1:12 listeners: must have at least 1 item',
    ],
  },
  {
    name: 'a list where the file must be a mapping',
    yaml: `- listeners
`,
    errors: ['switchyard.yaml:1:1: the file must be a mapping of listeners, routes, clusters, …'],
  },
  {
    name: 'a list as a key',
    yaml: `listeners: [{ address: ":0" }]
clusters:
  ? [a, b]
  : { target: a:1 }
`,
    errors: [
      'switchyard.yaml:3:3 clusters: must have at least 1 entry',
      'switchyard.yaml:3:5 clusters: keys must be names, not lists or mappings',
    ],
  },
  {
    name: 'YAML syntax errors stop before the checks',
    yaml: `listeners:
  - address: ":0"
   bad: indentation
clusters: { c: { target: a:1 }
`,
    errors: [
      'switchyard.yaml:3:1: Sequence item without - indicator',
      'switchyard.yaml:5:1: Flow map in block collection must be sufficiently indented and end with a }',
    ],
  },
];

void describe('rejecting bad files', () => {
  for (const { name, yaml, errors } of BAD) {
    void it(name, () => {
      const got = problems(yaml);
      // A trailing … in an expected line matches any rest of the message.
      assert.equal(got.length, errors.length, got.join('\n'));
      errors.forEach((want, i) => {
        if (want.endsWith('…')) assert.ok(got[i].startsWith(want.slice(0, -1)), got[i]);
        else assert.equal(got[i], want);
      });
    });
  }

  void it('reports every problem, sorted by position whichever check found it', () => {
    // Route targets are checked last, policies by an injected validator, types first: the
    // report is still in file order.
    assert.deepEqual(
      problems(`routes: [{ cluster: nope }]
listeners: [{ address: 80 }]
clusters: { c: { target: "a b", balancer: fastest } }
workers: 0
`),
      [
        'switchyard.yaml:1:21 routes[0].cluster: unknown cluster "nope"; defined: c',
        'switchyard.yaml:2:24 listeners[0].address: 80 is not an address: write ":80" or "0.0.0.0:80"',
        'switchyard.yaml:3:26 clusters.c.target: invalid target "a b": "a b" is not a valid host name or IP address',
        'switchyard.yaml:3:43 clusters.c.balancer: unknown balancing policy "fastest"; known: round_robin, least_loaded, weighted_round_robin, ring_hash',
        'switchyard.yaml:4:10 workers: must be a whole number from 1 to 1024 or "auto", got number 0',
      ],
    );
  });
});
