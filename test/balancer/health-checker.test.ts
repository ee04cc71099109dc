// Active health checks on a fake clock with a scripted probe: first-check verdicts,
// thresholds, recovery, timeouts, scheduling, and cleanup.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobinPolicy } from '../../balancer/round-robin.js';
import type { HealthProbe, HealthProbeResult } from '../../balancer/health-checker.js';
import type { Host } from '../../balancer/host.js';
import { BalancerError } from '../../balancer/errors.js';
import { Balancer } from '../../balancer/balancer.js';
import { FakeClock, seededRandom } from '../support/fake-clock.js';
import { endpointSet, NO_REQUEST, isEligible } from '../support/balancer-fixtures.js';

const options = {
  service: 'echo.Echo',
  intervalMs: 1_000,
  timeoutMs: 200,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
};

/** A probe that answers per host from a settable table; 'hang' never answers. */
class ScriptedProbe implements HealthProbe {
  readonly answers = new Map<string, HealthProbeResult | 'hang' | Error>();
  readonly calls: { key: string; service: string; timeoutMs: number; at: number }[] = [];
  aborted = 0;
  constructor(private readonly clock: FakeClock) {}

  check(host: Host, service: string, timeoutMs: number, signal: AbortSignal) {
    this.calls.push({ key: host.key, service, timeoutMs, at: this.clock.now() });
    signal.addEventListener('abort', () => this.aborted++);
    const answer = this.answers.get(host.key) ?? { status: 'serving' };
    if (answer === 'hang') return new Promise<HealthProbeResult>(() => {});
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer);
  }
}

/** Advances the clock until one more check has run (intervals are jittered). */
async function nextCheck(clock: FakeClock, probe: ScriptedProbe, host: Host): Promise<void> {
  const count = () => probe.calls.filter((c) => c.key === host.key).length;
  const n = count();
  for (let i = 0; i < 200 && count() === n; i++) await clock.advance(10);
  assert.equal(count(), n + 1);
}

function setup(hosts = 2) {
  const clock = new FakeClock();
  const probe = new ScriptedProbe(clock);
  const balancer = new Balancer(new RoundRobinPolicy(seededRandom(1)), {
    clock,
    random: seededRandom(2),
    healthCheck: options,
  });
  balancer.update(endpointSet(hosts));
  for (const host of [...balancer.hosts()]) balancer.setConnectivity(host, 'ready');
  return { clock, probe, balancer, hosts: [...balancer.hosts()] };
}

test('hosts are pending until their first check, which decides alone', async (t) => {
  const { clock, probe, balancer, hosts } = setup();
  t.after(() => balancer.close());
  const [a, b] = hosts;
  probe.answers.set(b.key, { status: 'not_serving' });
  balancer.startHealthChecks(probe);
  assert.equal(a.health, 'pending');
  assert.equal(balancer.pick(NO_REQUEST), null, 'nobody takes calls before a first answer');
  assert.equal(balancer.anyConnecting(), true, 'so the proxy waits briefly instead of failing');
  await clock.advance(0);
  assert.equal(a.health, 'healthy');
  assert.equal(b.health, 'unhealthy');
  assert.match(b.healthReason, /service "echo.Echo" is NOT_SERVING/);
  assert.deepEqual(
    probe.calls.map((c) => [c.service, c.timeoutMs]),
    [
      ['echo.Echo', 200],
      ['echo.Echo', 200],
    ],
  );
  // b is unhealthy and a is healthy: 1 of 2 is not below the 0.5 panic threshold.
  for (let i = 0; i < 10; i++) assert.equal(balancer.pick(NO_REQUEST), a);
  assert.equal(balancer.panic, false);
});

test('unhealthyThreshold failures in a row turn a healthy host unhealthy; healthyThreshold successes bring it back', async (t) => {
  const { clock, probe, balancer, hosts } = setup(3); // 1 of 3 unhealthy stays above the panic threshold
  t.after(() => balancer.close());
  const [a] = hosts;
  balancer.startHealthChecks(probe);
  await clock.advance(0);
  assert.equal(a.health, 'healthy');

  probe.answers.set(a.key, { status: 'not_serving' });
  await nextCheck(clock, probe, a); // failure 1
  await nextCheck(clock, probe, a); // failure 2
  assert.equal(a.health, 'healthy', 'two failures are below the threshold of three');
  assert.equal(isEligible(balancer, a), true);
  await nextCheck(clock, probe, a); // failure 3
  assert.equal(a.health, 'unhealthy');
  assert.equal(isEligible(balancer, a), false);

  probe.answers.set(a.key, { status: 'serving' });
  await nextCheck(clock, probe, a); // success 1
  assert.equal(a.health, 'unhealthy', 'one success is below the threshold of two');
  await nextCheck(clock, probe, a); // success 2
  assert.equal(a.health, 'healthy');
  assert.equal(a.healthReason, '');
  assert.equal(isEligible(balancer, a), true);

  // A failure between successes restarts the count.
  probe.answers.set(a.key, { status: 'service_unknown' });
  for (let i = 0; i < 3; i++) await nextCheck(clock, probe, a);
  assert.equal(a.health, 'unhealthy');
  assert.match(a.healthReason, /SERVICE_UNKNOWN/);
  probe.answers.set(a.key, { status: 'serving' });
  await nextCheck(clock, probe, a);
  probe.answers.set(a.key, { status: 'failed', reason: 'stream reset' });
  await nextCheck(clock, probe, a);
  assert.match(a.healthReason, /health check failed: stream reset/);
  probe.answers.set(a.key, { status: 'serving' });
  await nextCheck(clock, probe, a);
  assert.equal(a.health, 'unhealthy');
  await nextCheck(clock, probe, a);
  assert.equal(a.health, 'healthy');
});

test('a check that does not answer in timeoutMs fails and is aborted; a rejected probe fails', async (t) => {
  const { clock, probe, balancer, hosts } = setup();
  t.after(() => balancer.close());
  const [a, b] = hosts;
  probe.answers.set(a.key, 'hang');
  probe.answers.set(b.key, new Error('no session'));
  balancer.startHealthChecks(probe);
  await clock.advance(199);
  assert.equal(a.health, 'pending');
  assert.equal(b.health, 'unhealthy');
  assert.match(b.healthReason, /no session/);
  await clock.advance(1);
  assert.equal(a.health, 'unhealthy');
  assert.match(a.healthReason, /timed out after 200 ms/);
  assert.equal(probe.aborted, 1);
});

test('checks repeat every interval ± 10 %, only while the host is ready', async (t) => {
  const { clock, probe, balancer, hosts } = setup(1);
  t.after(() => balancer.close());
  const [a] = hosts;
  balancer.startHealthChecks(probe);
  await clock.advance(10_000);
  const times = probe.calls.map((c) => c.at);
  assert.ok(times.length >= 10 && times.length <= 12, `${times.length} checks in 10 s`);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  for (const gap of gaps) assert.ok(gap >= 900 && gap <= 1_100, `gap ${gap}`);
  assert.ok(new Set(gaps).size > 1, 'gaps are jittered');

  balancer.setConnectivity(a, 'failing', 'ECONNREFUSED');
  const before = probe.calls.length;
  await clock.advance(5_000);
  assert.equal(probe.calls.length, before, 'no checks while not ready');
  assert.equal(a.health, 'healthy', 'the last verdict stays');
  balancer.setConnectivity(a, 'ready');
  await clock.advance(0);
  assert.equal(probe.calls.length, before + 1, 'checked at once when ready again');
});

test('removed hosts, stopHealthChecks and close() leave no timers and deliver nothing late', async () => {
  const { clock, probe, balancer, hosts } = setup(3);
  probe.answers.set(hosts[2].key, 'hang');
  balancer.startHealthChecks(probe);
  await clock.advance(0);
  balancer.update(endpointSet(2));
  assert.equal(probe.aborted, 1, "the removed host's hanging check is aborted");
  await clock.advance(1_000);
  assert.equal(probe.calls.filter((c) => c.key === hosts[2].key).length, 1);
  balancer.stopHealthChecks();
  for (const host of balancer.hosts()) assert.equal(host.health, 'unchecked');
  assert.equal(clock.pending, 0);
  assert.equal(balancer.pick(NO_REQUEST) !== null, true);

  balancer.startHealthChecks(probe);
  await clock.advance(0);
  balancer.close();
  assert.equal(clock.pending, 0);
  const calls = probe.calls.length;
  await clock.advance(10_000);
  assert.equal(probe.calls.length, calls);
});

test('startHealthChecks needs settings', () => {
  const balancer = new Balancer(new RoundRobinPolicy());
  const probe = new ScriptedProbe(new FakeClock());
  assert.throws(
    () => balancer.startHealthChecks(probe),
    (e: unknown) => e instanceof BalancerError && e.code === 'SWY_ERR_NO_HEALTH_CHECK_SETTINGS',
  );
});
