// Runs the compiled test suite (dist/test/**/*.test.js) with node:test.
// Usage: node scripts/run-tests.mjs [--coverage] [substring ...]
//   substring: only files whose path contains one of them
//   --coverage: under c8, with the line-coverage floor of .c8rc.json (85 %) when the whole suite
//   runs; a filtered run reports its coverage but has no floor (it is a part of the suite).
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

const args = process.argv.slice(2);
const coverage = args.includes('--coverage');
const filters = args.filter((a) => a !== '--coverage');
const files = collect(testDir, []).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)),
);
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(2);
}

const testArgs = [
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
  ...files,
];
// c8 sets NODE_V8_COVERAGE for the test runner, and every process started from it inherits it:
// the test files' processes, the switchyard binaries, workers and reload loaders the tests start,
// so code that runs only in a child process counts too. It maps dist/ back to the .ts sources
// through their source maps; which folders count is in .c8rc.json.
const command = coverage
  ? [
      join(root, 'node_modules', 'c8', 'bin', 'c8.js'),
      '--config',
      join(root, '.c8rc.json'),
      ...(filters.length > 0 ? ['--check-coverage=false'] : []),
      process.execPath,
      ...testArgs,
    ]
  : testArgs;
const child = spawn(process.execPath, command, { stdio: 'inherit', cwd: root });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
