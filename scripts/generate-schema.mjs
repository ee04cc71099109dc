// Writes schema/switchyard.schema.json, the config file's JSON Schema, from the compiled code
// (run `npm run build` first). `--check` only compares and exits 1 when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}schema/switchyard.schema.json`;

const { switchyardJsonSchema } = await import(`${root}dist/bin/config-schema.js`);
const options = (await prettier.resolveConfig(target)) ?? {};
const text = await prettier.format(JSON.stringify(switchyardJsonSchema()), {
  ...options,
  parser: 'json',
});

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error(`${target} is stale: run node scripts/generate-schema.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
