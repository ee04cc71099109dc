// Fuzzing the config loader with random YAML documents built from the config's own vocabulary
// and with mutated copies of examples/*.yaml: each is a valid config or a ConfigError whose every
// problem names the file and a line:column inside it; never another throw, and never a hang (the
// test's timeout).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError } from '../../config/config-error.js';
import { parseConfig } from '../../config/load-config.js';
import { configValidators } from '../../proxy/config-validators.js';
import { FUZZ_TEST, fuzzParams, mutated } from '../support/fuzz.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const SCHEMA = JSON.parse(
  readFileSync(join(ROOT, 'schema', 'switchyard.schema.json'), 'utf8'),
) as unknown;
const FILE = '/etc/switchyard/fuzz.yaml';

const examples = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.yaml'))
  .sort()
  .map((name) => readFileSync(join(EXAMPLES, name), 'utf8'));

/** Every key and enum value the JSON Schema names: the words a config is made of. */
function vocabulary(): { keys: string[]; words: string[] } {
  const keys = new Set<string>();
  const words = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.properties !== null && typeof o.properties === 'object') {
      for (const k of Object.keys(o.properties)) keys.add(k);
    }
    if (Array.isArray(o.enum)) for (const e of o.enum) if (typeof e === 'string') words.add(e);
    Object.values(o).forEach(walk);
  };
  walk(SCHEMA);
  return { keys: [...keys], words: [...words] };
}
const { keys, words } = vocabulary();

const OPTIONS = {
  validators: configValidators,
  env: { PORT: '8080', EMPTY: '', HOST: 'backend.internal' },
  // Certificate paths are checked for their form only; reading files is not what is fuzzed.
  checkFile: () => undefined,
};

/** Parses `text`; returns the config or the ConfigError after checking what it promises. */
function load(text: string): unknown {
  try {
    return parseConfig(text, FILE, OPTIONS);
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      assert.fail(`not a ConfigError: ${(err as Error)?.stack ?? String(err)}\n--- for:\n${text}`);
    }
    assert.equal(err.code, 'SWY_ERR_CONFIG_INVALID', err.message);
    assert.ok(err.issues.length > 0, 'an invalid config has at least one problem');
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const issue of err.issues) {
      assert.equal(issue.file, FILE);
      assert.ok(
        issue.line >= 1 && issue.line <= lines + 1 && issue.column >= 1,
        `${issue.line}:${issue.column} (of ${lines} lines): ${issue.message}\n--- for:\n${text}`,
      );
      assert.ok(issue.message.length > 0);
    }
    assert.ok(err.message.startsWith(`${FILE}:`), err.message);
    return err;
  }
}

// Scalars a config holds: addresses, targets, durations, numbers, words, substitutions, junk.
const scalar = fc.oneof(
  fc.constantFrom(
    '127.0.0.1:0',
    ':8080',
    '[::1]:50051',
    'static:///10.0.0.1:50051,10.0.0.2:50051',
    'dns:///svc.internal:443',
    'dns+srv:///_grpc._tcp.users.internal',
    'consul:///users?tag=v2',
    '250ms',
    '1m30s',
    '0',
    'main',
    'users',
    '/helloworld.Greeter/',
    '${PORT}',
    '${HOST:-x}',
    '${UNSET}',
    '$${literal}',
    '${',
    'cert.pem',
    '<<',
  ),
  fc.constantFrom(...words),
  fc.integer({ min: -5, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
);
const key = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...keys) },
  fc.string({ maxLength: 8 }),
);
const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(key, tie('tree'), { maxKeys: 5, noNullPrototype: true }),
  ),
}));
const document = fc
  .record(
    {
      listeners: fc.oneof(tree, fc.constant([{ address: '127.0.0.1:0' }])),
      clusters: fc.oneof(tree, fc.constant({ main: { target: '127.0.0.1:1' } })),
      routes: fc.option(tree, { nil: undefined }),
      extra: fc.dictionary(key, tree, { maxKeys: 3, noNullPrototype: true }),
    },
    { noNullPrototype: true },
  )
  .chain(({ listeners, clusters, routes, extra }) =>
    fc
      .record({ flow: fc.boolean(), indent: fc.integer({ min: 2, max: 4 }) })
      .map(({ flow, indent }) =>
        stringify(
          { listeners, clusters, ...(routes !== undefined ? { routes } : {}), ...extra },
          { indent, collectionStyle: flow ? 'flow' : 'any', aliasDuplicateObjects: false },
        ),
      ),
  );

void test(
  'a random YAML document is a valid config or a ConfigError with positions',
  FUZZ_TEST,
  () => {
    let valid = 0;
    fc.assert(
      fc.property(document, (text) => {
        if (!(load(text) instanceof ConfigError)) valid++;
      }),
      fuzzParams(14_501, 400),
    );
    // The generator is not all noise: some documents are valid configs.
    assert.ok(valid > 0, 'no generated document was a valid config');
  },
);

// Characters YAML gives meaning to, so that mutations break structure and not only words.
const YAML_ALPHABET = ' \n\t:-#&*!|>\'"%@`{}[],?<=~${}.0123456789abcxyz';
/** Whole-line edits: a line dropped, doubled, moved, or indented differently. */
const lineEdits = (text: string) =>
  fc
    .array(
      fc.tuple(fc.constantFrom('drop', 'double', 'move', 'indent', 'dedent'), fc.nat(), fc.nat()),
      {
        minLength: 1,
        maxLength: 4,
      },
    )
    .map((edits) => {
      const lines = text.split('\n');
      for (const [kind, a, b] of edits) {
        const i = a % lines.length;
        const j = b % lines.length;
        if (kind === 'drop') lines.splice(i, 1);
        else if (kind === 'double') lines.splice(i, 0, lines[i]);
        else if (kind === 'move') lines.splice(j, 0, ...lines.splice(i, 1));
        else if (kind === 'indent') lines[i] = `  ${lines[i]}`;
        else lines[i] = lines[i].replace(/^ {1,2}/, '');
        if (lines.length === 0) lines.push('');
      }
      return lines.join('\n');
    });
const mutatedExample = fc
  .constantFrom(...examples)
  .chain((text) => fc.oneof(mutated(text, YAML_ALPHABET, 6), lineEdits(text)));

void test(
  'a mutated example file is a valid config or a ConfigError with positions',
  FUZZ_TEST,
  () => {
    for (const text of examples)
      assert.ok(!(load(text) instanceof ConfigError), 'an example fails');
    fc.assert(
      fc.property(mutatedExample, (text) => {
        load(text);
      }),
      fuzzParams(14_502, 600),
    );
  },
);

void test('found by the properties above', () => {
  const base = 'listeners: [{ address: ":0" }]\nclusters: { main: { target: "127.0.0.1:1" } }\n';
  // `accessLog: false` threw a TypeError (reading 'destination' of undefined).
  const err = load(`${base}accessLog: false\n`);
  assert.ok(err instanceof ConfigError);
  assert.equal(err.message, `${FILE}:3:12 accessLog: must be a mapping, got boolean false`);
});
