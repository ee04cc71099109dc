// Every config in examples/ validates (new files are picked up by themselves) with the
// certificates `npm run example-certs` makes, points editors at the JSON Schema, and satisfies
// that schema; the committed schema is up to date.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { switchyardJsonSchema } from '../../bin/config-schema.js';
import { configValidators } from '../../proxy/config-validators.js';
import { checkReadableFile, loadConfig } from '../../config/load-config.js';
import { ensureExampleCerts } from '../support/example-certs.js';

// Compiled to dist/test/config: the repository root is three folders up.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const SCHEMA_FILE = join(ROOT, 'schema', 'switchyard.schema.json');
const SCHEMA_HINT = '# yaml-language-server: $schema=../schema/switchyard.schema.json';

const exampleFiles = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
  .sort();

interface SchemaValidator {
  (data: unknown): boolean;
  errors?: { dataPath: string; message?: string }[] | null;
}

/** ajv 6 comes with the lint toolchain; it is not a dependency of the project. */
function loadAjv(): ((schema: object) => SchemaValidator) | undefined {
  try {
    const Ajv = createRequire(import.meta.url)('ajv') as new (options: object) => {
      compile(schema: object): SchemaValidator;
    };
    const ajv = new Ajv({ allErrors: true });
    return (schema) => ajv.compile(schema);
  } catch {
    return undefined;
  }
}

// As on a fresh clone after `npm run example-certs`: made here when missing.
await ensureExampleCerts();

void describe('examples/', () => {
  void it('has an example for each common setup', () => {
    for (const name of ['static.yaml', 'dns-srv.yaml', 'consul.yaml', 'tls.yaml']) {
      assert.ok(exampleFiles.includes(name), `examples/${name} is missing`);
    }
  });

  for (const name of exampleFiles) {
    void it(`${name} validates with no environment set`, async () => {
      const file = join(EXAMPLES, name);
      const text = readFileSync(file, 'utf8');
      assert.equal(text.split('\n')[0], SCHEMA_HINT);
      const files: string[] = [];
      // The certificate files are the example ones, and must be there.
      const config = await loadConfig(file, {
        validators: configValidators,
        env: {},
        checkFile: (path) => {
          files.push(path);
          return checkReadableFile(path);
        },
      });
      assert.ok(config.listeners.length > 0 && config.clusters.length > 0);
      assert.ok(
        files.every((path) => isAbsolute(path)),
        files.join(', '),
      );
    });
  }
});

void describe('the JSON Schema', () => {
  const committed = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object;

  void it('schema/switchyard.schema.json is what the code generates', () => {
    assert.deepStrictEqual(
      committed,
      JSON.parse(JSON.stringify(switchyardJsonSchema())),
      'stale: run `node scripts/generate-schema.mjs` after building',
    );
  });

  void it('accepts every example and rejects what the loader rejects (skipped without ajv)', (t) => {
    const compile = loadAjv();
    if (compile === undefined) {
      t.skip('ajv is not installed');
      return;
    }
    const validate = compile(committed);
    for (const name of exampleFiles) {
      const data: unknown = parse(readFileSync(join(EXAMPLES, name), 'utf8'), { merge: true });
      assert.ok(validate(data), `${name}: ${JSON.stringify(validate.errors)}`);
    }
    const base = { listeners: [{ address: ':0' }], clusters: { c: { target: 'a:1' } } };
    assert.ok(validate(base), JSON.stringify(validate.errors));
    const bad: Record<string, unknown>[] = [
      { ...base, extra: 1 },
      { ...base, listeners: [{ address: ':0', idleTimeout: '5 minutes' }] },
      { ...base, listeners: [{ address: ':0', idleTimeout: 5 }] },
      { ...base, clusters: { c: { target: 'a:1', balancer: 'least_laoded' } } },
      {
        ...base,
        clusters: { c: { target: 'a:1', balancer: { policy: 'ring_hash', decayMs: 1 } } },
      },
      { ...base, clusters: { c: { target: 'consul:///c', resolver: { servers: ['10.0.0.1'] } } } },
      { ...base, clusters: { 'bad name': { target: 'a:1' } } },
      { ...base, workers: 0 },
    ];
    for (const data of bad) assert.equal(validate(data), false, JSON.stringify(data));
    // What only substitution makes valid is let through.
    assert.ok(validate({ ...base, workers: '${WORKERS}', shutdownGrace: '${GRACE:-5s}' }));
  });
});
