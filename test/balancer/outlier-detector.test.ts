// Passive outlier detection on a fake clock: consecutive failures, failure rate, growing
// ejection times, the ejected-share cap, panic mode, and return after the ejection time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer } from '../../balancer/balancer.js';
import type { Host } from '../../balancer/host.js';
import type { OutlierDetectionOptions } from '../../balancer/outlier-detector.js';
import { RoundRobinPolicy } from '../../balancer/round-robin.js';
import { FakeClock, seededRandom } from '../support/fake-clock.js';
import {
  countPicks,
  endpointSet,
  NO_REQUEST,
  readyBalancer,
  isEligible,
} from '../support/balancer-fixtures.js';

const defaults: OutlierDetectionOptions = {
  consecutiveFailures: 3,
  failureRateThreshold: undefined,
  minimumCalls: 10,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  maxEjectionMs: 100_000,
  maxEjectedShare: 0.5,
};

function setup(
  hosts: number,
  options: Partial<OutlierDetectionOptions> = {},
  panicThreshold = 0.5,
) {
  const clock = new FakeClock();
  const balancer = readyBalancer(new RoundRobinPolicy(seededRandom(1)), endpointSet(hosts), {
    clock,
    panicThreshold,
    outlierDetection: { ...defaults, ...options },
  });
  return { clock, balancer, hosts: [...balancer.hosts()] };
}

function call(balancer: Balancer, host: Host, fail: boolean): void {
  balancer.callStarted(host);
  balancer.callEnded(host, 1, fail);
}

test('N endpoint failures in a row eject; a success in between resets the count', (t) => {
  const { clock, balancer, hosts } = setup(4);
  t.after(() => balancer.close());
  const [a] = hosts;
  call(balancer, a, true);
  call(balancer, a, true);
  call(balancer, a, false);
  call(balancer, a, true);
  call(balancer, a, true);
  assert.equal(a.ejected, false);
  call(balancer, a, true);
  assert.equal(a.ejected, true);
  assert.equal(a.ejectedUntil, clock.now() + 30_000);
  assert.equal(isEligible(balancer, a), false);
  const picks = countPicks(() => balancer.pick(NO_REQUEST), 300);
  assert.equal(picks.get(a.key), undefined);
  const snap = balancer.snapshot().hosts.find((h) => h.key === a.key)!;
  assert.equal(snap.ejected, true);
  assert.equal(snap.ejectionRemainingMs, 30_000);
  assert.equal(snap.ejections, 1);
  assert.ok(snap.ejectedUntil! > Date.now());
});

test('an ejected host returns on its own after the ejection time, and each ejection lasts longer', (t) => {
  const { clock, balancer, hosts } = setup(4, { intervalMs: 1_000_000 });
  t.after(() => balancer.close());
  const [a] = hosts;
  const durations: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 3; i++) call(balancer, a, true);
    assert.equal(a.ejected, true);
    const duration = a.ejectedUntil - clock.now();
    durations.push(duration);
    clock.advanceSync(duration - 1);
    assert.equal(a.ejected, true, 'still out 1 ms before the end');
    clock.advanceSync(1);
    assert.equal(a.ejected, false, 'back in service');
    assert.equal(isEligible(balancer, a), true);
  }
  // base × number of ejections, capped at the maximum.
  assert.deepEqual(durations, [30_000, 60_000, 90_000, 100_000, 100_000]);
  assert.equal(a.ejections, 5);
});

test('the multiplier falls by one per clean interval', (t) => {
  const { clock, balancer, hosts } = setup(4, { intervalMs: 10_000 });
  t.after(() => balancer.close());
  const [a] = hosts;
  for (let i = 0; i < 3; i++) call(balancer, a, true);
  clock.advanceSync(30_000);
  for (let i = 0; i < 3; i++) call(balancer, a, true);
  assert.equal(a.ejectedUntil - clock.now(), 60_000);
  clock.advanceSync(60_000);
  assert.equal(a.ejected, false);
  // Intervals ended during the ejection do not count; two clean intervals afterwards do.
  clock.advanceSync(20_000);
  for (let i = 0; i < 3; i++) call(balancer, a, true);
  assert.equal(a.ejectedUntil - clock.now(), 30_000, 'multiplier 2 - 2 + 1 = 1');
});

test('the failure rate over an interval ejects when enough calls were made', (t) => {
  const { clock, balancer, hosts } = setup(4, {
    consecutiveFailures: 0,
    failureRateThreshold: 0.5,
    minimumCalls: 10,
    intervalMs: 1_000,
  });
  t.after(() => balancer.close());
  const [a, b, c] = hosts;
  for (let i = 0; i < 12; i++) call(balancer, a, i % 2 === 0); // 6 of 12 failed
  for (let i = 0; i < 8; i++) call(balancer, b, true); // all failed, but too few calls
  for (let i = 0; i < 20; i++) call(balancer, c, i % 5 === 0); // 4 of 20
  assert.equal(a.ejected, false, 'consecutive rule off: nothing happens before the interval ends');
  clock.advanceSync(1_000);
  assert.equal(a.ejected, true);
  assert.equal(b.ejected, false);
  assert.equal(c.ejected, false);
  // Counters start over each interval.
  for (let i = 0; i < 4; i++) call(balancer, b, true);
  clock.advanceSync(1_000);
  assert.equal(b.ejected, false);
});

test('never more than maxEjectedShare of the hosts, worst first', (t) => {
  const { clock, balancer, hosts } = setup(10, { maxEjectedShare: 0.3, intervalMs: 1_000 });
  t.after(() => balancer.close());
  for (const host of hosts) for (let i = 0; i < 3; i++) call(balancer, host, true);
  assert.deepEqual(
    hosts.map((h) => h.ejected),
    [true, true, true, false, false, false, false, false, false, false],
  );
  clock.advanceSync(5_000);
  assert.equal(hosts.filter((h) => h.ejected).length, 3);
  assert.equal(balancer.snapshot().eligible, 7);

  // By failure rate, when only some may go, the worst go first.
  const rated = setup(10, {
    maxEjectedShare: 0.3,
    consecutiveFailures: 0,
    failureRateThreshold: 0.1,
    minimumCalls: 10,
    intervalMs: 1_000,
  });
  t.after(() => rated.balancer.close());
  for (const [i, host] of rated.hosts.entries()) {
    for (let k = 0; k < 10; k++) call(rated.balancer, host, k < i); // host i fails i of 10
  }
  rated.clock.advanceSync(1_000);
  assert.deepEqual(
    rated.hosts.flatMap((h, i) => (h.ejected ? [i] : [])),
    [7, 8, 9],
  );
  // With 3 hosts and a 0.1 share one host may still be ejected.
  const small = setup(3, { maxEjectedShare: 0.1 });
  t.after(() => small.balancer.close());
  for (const host of small.hosts) for (let i = 0; i < 3; i++) call(small.balancer, host, true);
  assert.equal(small.hosts.filter((h) => h.ejected).length, 1);
  // A share of 0 never ejects.
  const none = setup(3, { maxEjectedShare: 0 });
  t.after(() => none.balancer.close());
  for (let i = 0; i < 10; i++) call(none.balancer, none.hosts[0], true);
  assert.equal(none.hosts[0].ejected, false);
});

test('panic: below the threshold of fit hosts, every ready host takes calls', (t) => {
  const { balancer, hosts } = setup(4, { maxEjectedShare: 1 }, 0.5);
  t.after(() => balancer.close());
  const [a, b, c, d] = hosts;
  for (const host of [a, b]) for (let i = 0; i < 3; i++) call(balancer, host, true);
  assert.equal(balancer.panic, false, '2 of 4 fit is not below 0.5');
  assert.deepEqual(
    [...countPicks(() => balancer.pick(NO_REQUEST), 100).keys()].sort(),
    [c.key, d.key].sort(),
  );
  for (let i = 0; i < 3; i++) call(balancer, c, true);
  assert.equal(balancer.panic, true, '1 of 4 is');
  assert.equal(countPicks(() => balancer.pick(NO_REQUEST), 100).size, 4);
  assert.equal(balancer.snapshot().panic, true);

  // A threshold of 0 turns panic mode off: only fit hosts, and none when none is fit.
  const strict = setup(2, { maxEjectedShare: 1 }, 0);
  t.after(() => strict.balancer.close());
  for (const host of strict.hosts) for (let i = 0; i < 3; i++) call(strict.balancer, host, true);
  assert.equal(strict.balancer.pick(NO_REQUEST), null);
  assert.equal(strict.balancer.panic, false);
});

test('close() cancels every timer; calls ending on removed hosts are ignored', (t) => {
  const { clock, balancer, hosts } = setup(4);
  t.after(() => balancer.close());
  for (let i = 0; i < 3; i++) call(balancer, hosts[0], true);
  balancer.update(endpointSet(3));
  const removed = hosts[3];
  for (let i = 0; i < 3; i++) call(balancer, removed, true);
  assert.equal(removed.ejected, false);
  assert.ok(clock.pending > 0);
  balancer.close();
  assert.equal(clock.pending, 0);
});
