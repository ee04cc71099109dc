// The command line: each form to its command, and each misuse to a usage error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine, UsageError } from '../../bin/cli-args.js';

test('run, validate, quick start, help and version', () => {
  assert.deepEqual(parseCommandLine(['--config', 's.yaml']), {
    kind: 'run',
    file: 's.yaml',
    logLevel: undefined,
    workers: undefined,
  });
  assert.deepEqual(parseCommandLine(['-c', 's.yaml', '--log-level', 'debug']), {
    kind: 'run',
    file: 's.yaml',
    logLevel: 'debug',
    workers: undefined,
  });
  assert.deepEqual(parseCommandLine(['-c', 's.yaml', '--workers', 'auto']), {
    kind: 'run',
    file: 's.yaml',
    logLevel: undefined,
    workers: 'auto',
  });
  assert.deepEqual(parseCommandLine(['validate', 's.yaml']), { kind: 'validate', file: 's.yaml' });
  assert.deepEqual(parseCommandLine(['validate', '--config', 's.yaml']), {
    kind: 'validate',
    file: 's.yaml',
  });
  assert.deepEqual(
    parseCommandLine(['--listen', ':8080', '--upstream', 'a:1', '--balancer', 'x']),
    {
      kind: 'quick-start',
      listen: ':8080',
      upstream: 'a:1',
      balancer: 'x',
      gateway: undefined,
      logLevel: undefined,
      workers: undefined,
    },
  );
  assert.deepEqual(parseCommandLine(['--listen', ':1', '--upstream', 'a:1', '--log-level=warn']), {
    kind: 'quick-start',
    listen: ':1',
    upstream: 'a:1',
    balancer: undefined,
    gateway: undefined,
    logLevel: 'warn',
    workers: undefined,
  });
  assert.deepEqual(parseCommandLine(['--listen', ':1', '--upstream', 'a:1', '--workers', '2']), {
    kind: 'quick-start',
    listen: ':1',
    upstream: 'a:1',
    balancer: undefined,
    gateway: undefined,
    logLevel: undefined,
    workers: 2,
  });
  assert.deepEqual(
    parseCommandLine([
      '--listen',
      ':1',
      '--upstream',
      'a:1',
      '--gateway',
      '--proto',
      'a.proto',
      '--proto',
      'b.proto',
      '--proto-path',
      'protos',
    ]),
    {
      kind: 'quick-start',
      listen: ':1',
      upstream: 'a:1',
      balancer: undefined,
      gateway: { protos: ['a.proto', 'b.proto'], protoPaths: ['protos'], corsOrigins: [] },
      logLevel: undefined,
      workers: undefined,
    },
  );
  assert.deepEqual(
    parseCommandLine([
      '--listen',
      ':1',
      '--upstream',
      'a:1',
      '--gateway',
      '--cors',
      'http://localhost:5173',
      '--cors',
      'https://*.example.com',
    ]),
    {
      kind: 'quick-start',
      listen: ':1',
      upstream: 'a:1',
      balancer: undefined,
      gateway: {
        protos: [],
        protoPaths: [],
        corsOrigins: ['http://localhost:5173', 'https://*.example.com'],
      },
      logLevel: undefined,
      workers: undefined,
    },
  );
  assert.deepEqual(parseCommandLine(['-h']), { kind: 'help' });
  assert.deepEqual(parseCommandLine(['--config', 'x', '--help']), { kind: 'help' });
  assert.deepEqual(parseCommandLine(['-v']), { kind: 'version' });
});

test('misuse is a UsageError that says what is wrong', () => {
  const cases: [string[], string][] = [
    [[], 'nothing to run: give --config FILE, or --listen and --upstream'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--listen', ':1'], '--listen and --upstream are required together'],
    [['--config'], "Option '-c, --config <value>' argument missing"],
    [['--config', 'a', '--listen', ':1'], '--config and --listen exclude each other'],
    [['valdiate', 'a'], 'unknown command "valdiate" (did you mean "validate"?)'],
    [['serve'], 'unexpected argument "serve"'],
    [['validate'], 'validate needs a FILE to check'],
    [['validate', 'a', 'b'], 'validate takes one file'],
    [['validate', 'a', '--config', 'b'], 'validate takes one file'],
    [['validate', 'a', '--upstream', 'x'], 'validate takes a file and no --upstream'],
    [['validate', 'a', '--workers', '2'], 'validate takes a file and no --workers'],
    [
      ['-c', 'a', '--workers', '0'],
      '--workers: expected a number from 1 to 1024 or "auto", got "0"',
    ],
    [['-c', 'a', '--log-level', 'verbose'], '--log-level: unknown level "verbose"'],
    [
      ['--listen', ':1', '--upstream', 'a:1', '--gateway', '--proto-path', 'p'],
      '--proto-path needs a --proto FILE',
    ],
    [['--listen', ':1', '--upstream', 'a:1', '--proto', 'a.proto'], '--proto needs --gateway'],
    [['--listen', ':1', '--upstream', 'a:1', '--cors', '*'], '--cors needs --gateway'],
    [['-c', 'a', '--cors', '*'], '--config and --cors exclude each other'],
    [['-c', 'a', '--gateway'], '--config and --gateway exclude each other'],
    [
      ['-c', 'a', '--log-level', 'deubg'],
      '--log-level: unknown level "deubg" (did you mean "debug"?)',
    ],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseCommandLine(argv),
      (err: unknown) => {
        assert.ok(err instanceof UsageError, `${argv.join(' ')}: ${String(err)}`);
        assert.ok(err.message.startsWith(message), `${argv.join(' ')}: ${err.message}`);
        return true;
      },
    );
  }
});
