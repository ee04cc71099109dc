// Runs the compiled test suite (dist/test/**/*.test.js) with node:test.
// Usage: node scripts/run-tests.mjs [substring ...]  (only files whose path contains one of them)
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
if (!existsSync(testDir)) {
  console.error('dist/test is missing: run `npm run build` first (npm test does it for you).');
  process.exit(2);
}

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect(testDir, []).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)),
);
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(2);
}

const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
