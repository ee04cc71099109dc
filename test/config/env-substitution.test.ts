// ${VAR} substitution: the string rules, and in config files (types, positions, flow
// collections, keys and comments untouched, escapes, unset variables).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configValidators } from '../../proxy/config-validators.js';
import { ConfigError } from '../../config/config-error.js';
import { plainScalarValue, substituteEnv } from '../../config/env-substitution.js';
import { parseConfig } from '../../config/load-config.js';
import type { Config } from '../../config/types.js';

void describe('substituteEnv', () => {
  const env = { HOST: 'db.internal', PORT: '5432', EMPTY: '' };

  void it('replaces ${VAR} and ${VAR:-default}', () => {
    assert.deepEqual(substituteEnv('${HOST}:${PORT}', env), {
      value: 'db.internal:5432',
      substituted: true,
    });
    assert.deepEqual(substituteEnv('${MISSING:-fallback}', env), {
      value: 'fallback',
      substituted: true,
    });
    // As in the shell, :- also covers a variable set to "".
    assert.deepEqual(substituteEnv('${EMPTY:-x}', env), { value: 'x', substituted: true });
    assert.deepEqual(substituteEnv('${EMPTY}', env), { value: '', substituted: true });
    assert.deepEqual(substituteEnv('${MISSING:-}', env), { value: '', substituted: true });
    assert.deepEqual(substituteEnv('${MISSING:-a:b/c}', env), {
      value: 'a:b/c',
      substituted: true,
    });
  });

  void it('leaves text without ${ alone, and $${ writes a literal ${', () => {
    assert.deepEqual(substituteEnv('$HOST costs $5', env), {
      value: '$HOST costs $5',
      substituted: false,
    });
    assert.deepEqual(substituteEnv('$${HOST} is ${HOST}', env), {
      value: '${HOST} is db.internal',
      substituted: true,
    });
    assert.deepEqual(substituteEnv('$${HOST}', env), { value: '${HOST}', substituted: false });
  });

  void it('does not substitute inside substituted values', () => {
    assert.deepEqual(substituteEnv('${A}', { A: '${B}', B: 'no' }), {
      value: '${B}',
      substituted: true,
    });
  });

  void it('names every unset variable and malformed expression', () => {
    assert.deepEqual(substituteEnv('${A}/${B:-ok}/${C}', {}), {
      errors: [
        'environment variable A is not set (write ${A:-default} for a fallback)',
        'environment variable C is not set (write ${C:-default} for a fallback)',
      ],
    });
    assert.deepEqual(substituteEnv('${1X}', {}), {
      errors: ['"${1X}" is not ${NAME} or ${NAME:-default} (write $${ for a literal ${)'],
    });
    assert.deepEqual(substituteEnv('${X-y}', {}), {
      errors: ['"${X-y}" is not ${NAME} or ${NAME:-default} (write $${ for a literal ${)'],
    });
    assert.deepEqual(substituteEnv('a ${HOST', env), {
      errors: ['unterminated "${HOST" (write $${ for a literal ${)'],
    });
  });

  void it('plain scalars become what YAML would have made of them', () => {
    assert.equal(plainScalarValue('8080'), 8080);
    assert.equal(plainScalarValue('0.25'), 0.25);
    assert.equal(plainScalarValue('1e3'), 1000);
    assert.equal(plainScalarValue('0x1f'), 31);
    assert.equal(plainScalarValue('true'), true);
    assert.equal(plainScalarValue('False'), false);
    assert.equal(plainScalarValue(''), null);
    assert.equal(plainScalarValue('~'), null);
    assert.equal(plainScalarValue('10.0.0.1:80'), '10.0.0.1:80');
    assert.equal(plainScalarValue('[a, b]'), '[a, b]');
    assert.equal(plainScalarValue('a: b'), 'a: b');
  });
});

void describe('substitution in config files', () => {
  const FILE = 'switchyard.yaml';

  function load(text: string, env: Record<string, string>): Config {
    return parseConfig(text, FILE, {
      validators: configValidators,
      env,
      checkFile: () => undefined,
      baseDir: '/etc/switchyard',
    });
  }

  function problems(text: string, env: Record<string, string>): string[] {
    try {
      load(text, env);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.message.split('\n');
    }
    assert.fail('the config was accepted');
  }

  const BASE = (listener: string, cluster: string) =>
    `listeners:\n${listener}\nclusters:\n  c:\n${cluster}\n`;

  void it('plain values take their type after substitution; quoted ones stay strings', () => {
    const config = load(
      BASE(
        '  - address: ${HOST:-127.0.0.1}:${PORT}\n    maxConcurrentStreams: ${STREAMS}',
        '    target: "${TARGET}"\n    panicThreshold: ${PANIC:-0.25}\n    authority: "${PORT}"',
      ),
      { PORT: '8080', STREAMS: '64', TARGET: '10.0.0.1:50051' },
    );
    assert.deepEqual(config.listeners[0].address, { host: '127.0.0.1', port: 8080 });
    assert.equal(config.listeners[0].maxConcurrentStreams, 64);
    assert.equal(config.clusters[0].target, '10.0.0.1:50051');
    assert.equal(config.clusters[0].panicThreshold, 0.25);
    assert.equal(config.clusters[0].authority, '8080');
  });

  void it('works inside flow collections, where YAML reserves braces', () => {
    const config = load(
      BASE(
        '  - { address: "127.0.0.1:1", tls: { cert: ${DIR}/a.pem, key: ${DIR:-/x}/a.key } }',
        '    target: 10.0.0.1:1\n    resolver: { servers: [${NS}, "${NS}:53"] }',
      ),
      { DIR: '/certs', NS: '10.0.0.53' },
    );
    assert.equal(config.listeners[0].tls?.certFile, '/certs/a.pem');
    assert.equal(config.listeners[0].tls?.keyFile, '/certs/a.key');
    assert.equal(config.clusters[0].target, '10.0.0.1:1');
  });

  void it('an empty plain value counts as absent', () => {
    const config = load(BASE('  - address: :0', '    target: 10.0.0.1:1\n    proxy: ${P:-}'), {});
    assert.equal(config.clusters[0].proxy, undefined);
  });

  void it('keys, comments and escapes are left alone', () => {
    const config = load(
      BASE(
        '  - address: :0 # ${NOT_SET} in a comment',
        '    target: 10.0.0.1:1\n    authority: $${LITERAL}',
      ),
      {},
    );
    assert.equal(config.clusters[0].authority, '${LITERAL}');
    assert.deepEqual(problems(BASE('  - address: :0\n    ${KEY}: 1', '    target: x:1'), {}), [
      'switchyard.yaml:3:5 listeners[0]["${KEY}"]: unknown key "${KEY}" (expected name, address, tls, handshakeTimeout, idleTimeout, maxConcurrentStreams, stalledStreamTimeout, connectionBufferLimit, maxFilteredMessageSize, resetLimit, pingAfterSilence, pingTimeout, closeTimeout, connect, gateway or filters)',
    ]);
  });

  void it('an unset variable is an error at its value, and hides that value’s other problems', () => {
    const text = BASE(
      '  - address: ${LISTEN}\n  - address: "${HOST}:${PORT}"',
      '    target: 10.0.0.1:1\n    timeouts: { connect: ${CONNECT:-fast} }',
    );
    assert.deepEqual(problems(text, { HOST: 'h' }), [
      'switchyard.yaml:2:14 listeners[0].address: environment variable LISTEN is not set (write ${LISTEN:-default} for a fallback)',
      'switchyard.yaml:3:14 listeners[1].address: environment variable PORT is not set (write ${PORT:-default} for a fallback)',
      'switchyard.yaml:7:26 clusters.c.timeouts.connect: "fast" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")',
    ]);
  });

  void it('positions after a substituted expression stay those of the file', () => {
    // The long variable value must not shift the column of the later error.
    const text = BASE(
      '  - { address: "${LONG_HOST_NAME_VALUE}:1", maxConcurrentStreams: 0 }',
      '    target: 10.0.0.1:1',
    );
    assert.deepEqual(problems(text, { LONG_HOST_NAME_VALUE: 'a'.repeat(100) }), [
      'switchyard.yaml:2:67 listeners[0].maxConcurrentStreams: must be at least 1, got 0',
    ]);
  });
});
