// The gateway's config: a listener's `gateway:` block and the top-level `descriptors:` block,
// checked with file:line:col like the rest, and rules that fail at startup named by position.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../config/config-error.js';
import { DEFAULT_CORS, quickStartConfig } from '../../config/defaults.js';
import { parseConfig } from '../../config/load-config.js';
import { configValidators } from '../../proxy/config-validators.js';
import { loadGatewayRoutes } from '../../proxy/gateway-wiring.js';
import { LIBRARY_DIR, LIBRARY_PROTO } from '../support/library-backend.js';

const OPTIONS = { validators: configValidators, env: {}, baseDir: LIBRARY_DIR };

function yaml(descriptors: string, gateway = '    gateway: {}\n'): string {
  return `listeners:
  - address: 127.0.0.1:8080
${gateway}clusters:
  api:
    target: 127.0.0.1:50051
${descriptors}`;
}

describe('gateway config', () => {
  it('fills the defaults and keeps where each HTTP rule was written', () => {
    const config = parseConfig(
      yaml(`descriptors:
  protos:
    files: [library.proto]
    importPaths: [.]
  httpRules:
    - selector: library.v1.Library.Ping
      get: /v1/ping
`),
      'api.yaml',
      OPTIONS,
    );
    assert.deepEqual(config.listeners[0].gateway, {
      grpcWeb: true,
      openapiPath: '/openapi.json',
      rest: true,
      forwardHeaders: ['authorization', 'x-*'],
      maxBodyBytes: 4 * 1024 * 1024,
      emitDefaults: false,
      useProtoNames: false,
    });
    assert.equal(config.descriptors?.protos.importPaths[0], LIBRARY_DIR);
    assert.deepEqual(config.descriptors?.httpRules, [
      { rule: { selector: 'library.v1.Library.Ping', get: '/v1/ping' }, source: 'api.yaml:12:7' },
    ]);
    assert.equal(loadGatewayRoutes(config)?.routes.length, 13);
  });

  it('names file:line:col of a bad key and of a gateway without descriptors', () => {
    assert.throws(
      () =>
        parseConfig(
          yaml(`descriptors:
  protos:
    files: [library.proto]
    importPaths: [.]
  httpRules:
    - selector: library.v1.Library.Ping
      gett: /v1/ping
`),
          'api.yaml',
          OPTIONS,
        ),
      (err: unknown) =>
        err instanceof ConfigError && /api\.yaml:13:7 .*unknown key "gett"/.test(err.message),
    );
    assert.throws(
      () => parseConfig(yaml(''), 'api.yaml', OPTIONS),
      /api\.yaml:3:5 listeners\[0\]\.gateway: REST needs a top-level `descriptors:` block/,
    );
  });

  it('takes a CORS block with defaults, and gRPC-Web alone without descriptors', () => {
    const config = parseConfig(
      yaml(
        '',
        `    gateway:
      rest: false
      cors:
        allowOrigins: ["https://*.example.com", "http://localhost:5173"]
        exposeHeaders: [X-Request-Id]
        maxAge: 10m
`,
      ),
      'web.yaml',
      OPTIONS,
    );
    assert.equal(config.listeners[0].gateway?.grpcWeb, true);
    assert.deepEqual(config.listeners[0].gateway?.cors, {
      ...DEFAULT_CORS,
      allowOrigins: ['https://*.example.com', 'http://localhost:5173'],
      exposeHeaders: ['x-request-id'],
      maxAgeSeconds: 600,
    });
    assert.throws(
      () =>
        parseConfig(
          yaml(
            '',
            `    gateway:
      rest: false
      cors:
        allowOrigins: [https://example.com/app]
`,
          ),
          'web.yaml',
          OPTIONS,
        ),
      /web\.yaml:6:24 listeners\[0\]\.gateway\.cors\.allowOrigins\[0\].*is not an origin/,
    );
  });

  it('fails at startup on a rule naming an unknown method, at its position', () => {
    const config = parseConfig(
      yaml(`descriptors:
  protos:
    files: [library.proto]
    importPaths: [.]
  httpRules:
    - selector: library.v1.Library.Nope
      get: /v1/nope
`),
      'api.yaml',
      OPTIONS,
    );
    assert.throws(
      () => loadGatewayRoutes(config),
      /api\.yaml:12:7: selector "library\.v1\.Library\.Nope" names no method/,
    );
  });

  it('builds the same from the quick start flags', () => {
    const config = quickStartConfig({
      listen: '127.0.0.1:8080',
      upstream: '127.0.0.1:50051',
      gateway: { protos: [LIBRARY_PROTO], protoPaths: [LIBRARY_DIR] },
    });
    assert.equal(config.listeners[0].gateway?.rest, true);
    // 12 routes from the annotations (Ping has none without httpRules).
    assert.equal(loadGatewayRoutes(config)?.routes.length, 12);
  });

  it('asks the backends by reflection when the quick start has no --proto', () => {
    const config = quickStartConfig({
      listen: '127.0.0.1:8080',
      upstream: '127.0.0.1:50051',
      gateway: { protos: [], protoPaths: [] },
    });
    assert.deepEqual(config.descriptors?.reflection, {
      clusters: undefined,
      refreshMs: 60_000,
      timeoutMs: 5_000,
    });
    assert.equal(config.descriptors?.serveReflection, true);
  });

  it('reads descriptors.reflection, with protos left out', () => {
    const config = parseConfig(
      yaml(`descriptors:
  reflection:
    clusters: [api]
    refresh: 30s
`),
      'api.yaml',
      OPTIONS,
    );
    assert.deepEqual(config.descriptors?.reflection, {
      clusters: ['api'],
      refreshMs: 30_000,
      timeoutMs: 5_000,
    });
    assert.deepEqual(config.descriptors?.protos.files, []);
    assert.equal(config.descriptors?.serveReflection, true);
  });

  it('names an unknown reflection cluster and a descriptors block with no source', () => {
    assert.throws(
      () =>
        parseConfig(
          yaml(`descriptors:
  reflection:
    clusters: [apii]
`),
          'api.yaml',
          OPTIONS,
        ),
      (err: unknown) =>
        err instanceof ConfigError &&
        /api\.yaml:9:16 descriptors\.reflection\.clusters\[0\]: unknown cluster "apii"/.test(
          err.message,
        ),
    );
    assert.throws(
      () => parseConfig(yaml(`descriptors:\n  httpRules: []\n`), 'api.yaml', OPTIONS),
      (err: unknown) =>
        err instanceof ConfigError &&
        /api\.yaml:7:\d+ descriptors: needs `protos:`.*`reflection:`/.test(err.message),
    );
  });
});
