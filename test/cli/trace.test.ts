// SWITCHYARD_TRACE end to end: the binary logs its decisions at debug level for the categories
// asked for, whatever the log level, and nothing when the variable is unset.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { spawnProxy, type SpawnedProxy } from '../support/spawn-proxy.js';

interface LogLine {
  level: number;
  msg: string;
  trace?: string;
  [field: string]: unknown;
}

function parsed(proxy: SpawnedProxy): LogLine[] {
  return proxy.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

/** Waits until `predicate` holds for the log so far (lines arrive through a pipe). */
async function waitForLine(
  proxy: SpawnedProxy,
  predicate: (line: LogLine) => boolean,
): Promise<LogLine> {
  for (let i = 0; i < 100; i++) {
    const found = parsed(proxy).find(predicate);
    if (found !== undefined) return found;
    await sleep(20);
  }
  assert.fail(`no matching log line in:\n${proxy.lines.join('\n')}`);
}

const DEBUG = 20;

void describe('SWITCHYARD_TRACE', () => {
  let backend: EchoBackend;
  before(async () => {
    backend = await startEchoBackend({ name: 'echo-1' });
  });
  after(() => backend.close());

  async function oneCall(env: NodeJS.ProcessEnv): Promise<SpawnedProxy> {
    const proxy = await spawnProxy(['--upstream', backend.address], env);
    const client = echoClient(proxy.target);
    try {
      const response = await echoUnaryOk(client, {}, { deadlineMs: 5_000 });
      assert.equal(response.backend, 'echo-1');
    } finally {
      client.close();
    }
    return proxy;
  }

  void it('pool,call: logs the endpoint becoming ready and the pick, with their fields', async (t) => {
    const proxy = await oneCall({ SWITCHYARD_TRACE: 'pool,call' });
    t.after(() => proxy.stop('SIGKILL'));
    const ready = await waitForLine(
      proxy,
      (l) => l.trace === 'pool' && l.msg === 'endpoint state' && l.state === 'ready',
    );
    assert.equal(ready.level, DEBUG);
    assert.equal(ready.endpoint, backend.address);
    assert.equal(typeof ready.cluster, 'string');
    const pick = await waitForLine(proxy, (l) => l.trace === 'call' && l.msg === 'pick');
    assert.equal(pick.level, DEBUG);
    assert.equal(pick.host, backend.address);
    assert.equal(pick.path, '/test.Echo/Unary');
    assert.equal(pick.policy, 'round_robin');
    assert.equal(typeof pick.inFlight, 'number');
    assert.equal(typeof pick.eligible, 'number');
    // Only the categories asked for: no resolver or balancer lines.
    const others = parsed(proxy).filter((l) => l.trace === 'resolver' || l.trace === 'balancer');
    assert.deepEqual(others, []);
    // The default log level is info: trace lines are the only debug lines.
    for (const line of parsed(proxy)) {
      if (line.level === DEBUG) assert.ok(line.trace === 'pool' || line.trace === 'call', line.msg);
    }
    assert.equal(await proxy.stop('SIGTERM'), 0);
  });

  void it('unset: no trace line', async (t) => {
    const proxy = await oneCall({ SWITCHYARD_TRACE: '' });
    t.after(() => proxy.stop('SIGKILL'));
    assert.equal(await proxy.stop('SIGTERM'), 0);
    const traced = parsed(proxy).filter((l) => l.trace !== undefined || l.level <= DEBUG);
    assert.deepEqual(traced, []);
    assert.ok(parsed(proxy).some((l) => l.msg.includes('listening')));
  });

  void it('an unknown category: one warning naming the known ones, the rest still traced', async (t) => {
    const proxy = await spawnProxy(['--upstream', backend.address], {
      SWITCHYARD_TRACE: 'resolver,pol',
    });
    t.after(() => proxy.stop('SIGKILL'));
    const warnings = parsed(proxy).filter((l) => l.msg.startsWith('SWITCHYARD_TRACE'));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].level, 40);
    assert.match(
      warnings[0].msg,
      /unknown category "pol" \(did you mean "pool"\?\); known: call, balancer, pool, resolver, all/,
    );
    const resolved = await waitForLine(
      proxy,
      (l) => l.trace === 'resolver' && l.msg === 'resolved',
    );
    assert.equal(resolved.endpoints, 1);
  });
});
