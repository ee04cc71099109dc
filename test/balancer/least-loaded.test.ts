// least_loaded: P2C over in-flight calls scored by peak-EWMA latency. A simulation on a fake
// clock (one call per ms; each call ends after its host's latency) checks that a 10× slower
// host gets the share the algorithm predicts, and its share back once it speeds up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer } from '../../balancer/balancer.js';
import type { Host } from '../../balancer/host.js';
import { LeastLoadedPolicy, LEAST_LOADED_DEFAULTS } from '../../balancer/least-loaded.js';
import { PeakEwma } from '../../balancer/peak-ewma.js';
import { FakeClock, seededRandom } from '../support/fake-clock.js';
import {
  countPicks,
  endpointSet,
  NO_REQUEST,
  readyBalancer,
} from '../support/balancer-fixtures.js';

interface Simulation {
  readonly balancer: Balancer;
  readonly clock: FakeClock;
  /** Latency (ms) of a call that starts on host `index` now. */
  latency: (index: number) => number;
  /** Calls started per host index in [from, to). */
  run(ms: number): number[];
}

function simulate(
  balancer: Balancer,
  clock: FakeClock,
  latency: (index: number) => number,
): Simulation {
  const hosts = [...balancer.hosts()];
  const index = new Map<Host, number>(hosts.map((h, i) => [h, i]));
  // Latencies are constant per host between changes, so calls end in start order per host.
  const queues: { start: number; end: number }[][] = hosts.map(() => []);
  const sim: Simulation = {
    balancer,
    clock,
    latency,
    run(ms) {
      const counts = hosts.map(() => 0);
      for (let step = 0; step < ms; step++) {
        clock.advanceSync(1);
        const now = clock.now();
        for (let i = 0; i < hosts.length; i++) {
          const queue = queues[i];
          while (queue.length > 0 && queue[0].end <= now) {
            const call = queue.shift()!;
            balancer.callEnded(hosts[i], call.end - call.start, false);
          }
        }
        const host = balancer.pick(NO_REQUEST)!;
        const i = index.get(host)!;
        balancer.callStarted(host);
        queues[i].push({ start: now, end: now + sim.latency(i) });
        counts[i]++;
      }
      return counts;
    },
  };
  return sim;
}

test('a 10× slower host gets about one probe call per τ·ln(slow/fast cost), then its share back', () => {
  const clock = new FakeClock(0);
  const decayMs = LEAST_LOADED_DEFAULTS.decayMs; // τ = 10 s
  // Decay alone: probes of idle hosts (probeAfterMs) are tested below.
  const policy = new LeastLoadedPolicy(
    { ...LEAST_LOADED_DEFAULTS, probeAfterMs: 0 },
    {
      now: () => clock.now(),
      random: seededRandom(17),
    },
  );
  const balancer = readyBalancer(policy, endpointSet(3), { clock });
  const fastMs = 5;
  const slowMs = 50;
  let slowNow = slowMs;
  const sim = simulate(balancer, clock, (i) => (i === 2 ? slowNow : fastMs));

  // The expected share, from the algorithm. One call arrives per ms and lasts 5 ms on a fast
  // host, so the fast hosts hold at most 5 calls between them and a fast host's cost is at
  // most 5 ms × (5 + 1) = 30. After an answer the slow host's estimate is 50 ms; idle, it
  // decays as 50·e^(−t/τ) and beats a fast host only below 30, i.e. after τ·ln(50/30) ≈ 5.1 s.
  // It then takes one call (its cost doubles with that call in flight) whose 50 ms answer
  // resets the estimate. So at most one call per 5.1 s, plus its very first call.
  const durationMs = 100_000;
  const counts = sim.run(durationMs);
  const probeGapMs = decayMs * Math.log(slowMs / (fastMs * 6));
  const bound = 1 + Math.ceil(durationMs / probeGapMs);
  assert.ok(counts[2] <= bound, `slow host got ${counts[2]} calls, bound ${bound}`);
  assert.ok(counts[2] >= 2, `it still gets probe calls (${counts[2]})`);
  const share = counts[2] / durationMs;
  assert.ok(share < 0.001, `slow share ${share}`);
  // The two fast hosts split the rest evenly.
  assert.ok(
    Math.abs(counts[0] - counts[1]) < durationMs * 0.05,
    `fast split ${counts[0]}/${counts[1]}`,
  );

  // It speeds up. The next probe (within τ·ln(50/10) ≈ 16 s, as fast costs are at least
  // 5 × 2) returns in 5 ms and pulls its estimate near the others'; from then on it is an
  // equal peer again and gets close to a third of the calls.
  slowNow = fastMs;
  sim.run(Math.ceil(decayMs * Math.log(slowMs / (fastMs * 2))) + 3 * decayMs);
  const recovered = sim.run(20_000);
  const recoveredShare = recovered[2] / 20_000;
  assert.ok(recoveredShare > 0.28, `share after recovery ${recoveredShare}`);
});

test('with equal hosts the calls spread evenly, and the in-flight count decides', () => {
  const clock = new FakeClock(0);
  const policy = new LeastLoadedPolicy(LEAST_LOADED_DEFAULTS, {
    now: () => clock.now(),
    random: seededRandom(3),
  });
  const balancer = readyBalancer(policy, endpointSet(4), { clock });
  const sim = simulate(balancer, clock, () => 10);
  sim.run(1_000);
  const counts = sim.run(20_000);
  for (const n of counts) assert.ok(Math.abs(n - 5_000) < 500, `counts ${counts.join(',')}`);

  // in_flight scoring: a host holding many calls is avoided whatever its latency.
  const plain = new LeastLoadedPolicy(
    { scoring: 'in_flight', decayMs: 1_000, probeAfterMs: 1_000 },
    {
      now: () => 0,
      random: seededRandom(5),
    },
  );
  const b = readyBalancer(plain, endpointSet(3));
  const [busy] = [...b.hosts()];
  for (let i = 0; i < 10; i++) b.callStarted(busy);
  const picks = countPicks(() => b.pick(NO_REQUEST), 1_000);
  assert.equal(picks.get(busy.key), undefined);
});

test('a host without latency data takes one call at a time until it answers', () => {
  const clock = new FakeClock(0);
  const policy = new LeastLoadedPolicy(LEAST_LOADED_DEFAULTS, {
    now: () => clock.now(),
    random: seededRandom(1),
  });
  const balancer = readyBalancer(policy, endpointSet(2), { clock });
  const [known, fresh] = [...balancer.hosts()];
  balancer.callStarted(known);
  balancer.callEnded(known, 20, false);
  balancer.callStarted(fresh); // its first call, not answered yet
  for (let i = 0; i < 100; i++) assert.equal(balancer.pick(NO_REQUEST), known);
});

test('a host that joins starts at the average estimate, not at zero', () => {
  const clock = new FakeClock(0);
  const policy = new LeastLoadedPolicy(LEAST_LOADED_DEFAULTS, {
    now: () => clock.now(),
    random: seededRandom(2),
  });
  const balancer = readyBalancer(policy, endpointSet(3), { clock });
  const [a, b, c] = [...balancer.hosts()];
  for (const [host, ms] of [
    [a, 10],
    [b, 20],
    [c, 30],
  ] as const) {
    balancer.callStarted(host);
    balancer.callEnded(host, ms, false);
  }
  balancer.setConnectivity(c, 'failing');
  assert.equal(balancer.eligible, 2); // as the next pick would see it
  // A minute away: c's estimate decays to almost nothing, while a and b keep answering.
  for (let s = 0; s < 60; s++) {
    clock.advanceSync(1_000);
    for (const [host, ms] of [
      [a, 10],
      [b, 20],
    ] as const) {
      balancer.callStarted(host);
      balancer.callEnded(host, ms, false);
    }
  }
  assert.ok(c.latency.current(clock.now(), 10_000) < 0.1);
  balancer.setConnectivity(c, 'ready');
  assert.equal(balancer.eligible, 3); // applies the change, as the next pick would
  const now = clock.now();
  const average = (a.latency.current(now, 10_000) + b.latency.current(now, 10_000)) / 2;
  assert.ok(Math.abs(c.latency.current(now, 10_000) - average) < 1e-9);
});

test('peak EWMA: peaks at once, decays toward zero when idle, blends lower samples by elapsed time', () => {
  const ewma = new PeakEwma();
  assert.equal(ewma.known, false);
  ewma.observe(10, 0, 1_000);
  assert.equal(ewma.current(0, 1_000), 10);
  ewma.observe(50, 1, 1_000);
  assert.equal(ewma.lastEstimate, 50, 'a slower sample replaces the estimate');
  assert.ok(Math.abs(ewma.current(1_001, 1_000) - 50 / Math.E) < 1e-9, 'after τ: 1/e');
  ewma.observe(10, 2, 1_000);
  assert.ok(ewma.lastEstimate > 49, 'a fast sample 1 ms later barely moves it');
  ewma.observe(10, 5_002, 1_000);
  assert.ok(ewma.lastEstimate < 10.5, 'after 5τ of quiet a fast sample counts almost fully');
});

test('a host that hung and recovered gets a probe within probeAfterMs and its share back at once', () => {
  const clock = new FakeClock(0);
  const policy = new LeastLoadedPolicy(LEAST_LOADED_DEFAULTS, {
    now: () => clock.now(),
    random: seededRandom(11),
  });
  const balancer = readyBalancer(policy, endpointSet(3), { clock });
  let hungUntil = -1;
  const sim = simulate(balancer, clock, (i) => (i === 2 && clock.now() < hungUntil ? 8_000 : 5));
  sim.run(2_000);
  // Host 2 hangs for 8 s: the calls it takes then answer after 8 s each, which puts its
  // estimate at 8,000 ms; decay alone (τ = 10 s) would keep it out for about τ·ln(8000/30),
  // some 56 s.
  hungUntil = clock.now() + 8_000;
  sim.run(8_000);
  hungUntil = -1;
  const waited = sim.run(8_000); // the hung calls end in this window
  assert.ok(waited[2] <= 4, `host 2 got ${waited[2]} calls while its hung calls drained`);
  // From the last hung answer on, a probe comes within probeAfterMs, answers in 5 ms, and the
  // host is an equal peer again.
  const back = sim.run(10_000);
  assert.ok(back[2] / 10_000 > 0.25, `share after recovery ${back[2] / 10_000}`);
});

test('probes go one at a time to idle hosts with old estimates, and never with probeAfterMs 0', () => {
  const clock = new FakeClock(0);
  const make = (probeAfterMs: number) => {
    const policy = new LeastLoadedPolicy(
      { ...LEAST_LOADED_DEFAULTS, probeAfterMs },
      { now: () => clock.now(), random: seededRandom(4) },
    );
    const balancer = readyBalancer(policy, endpointSet(4), { clock });
    const hosts = [...balancer.hosts()];
    const [slow] = hosts;
    // Every host has answered once; the slow one in 10 s, the others in 1 ms.
    for (const host of hosts) {
      balancer.callStarted(host);
      balancer.callEnded(host, host === slow ? 10_000 : 1, false);
    }
    return { balancer, hosts, slow };
  };
  const on = make(1_000);
  const off = make(0);
  clock.advanceSync(1_500);
  // The fast hosts keep answering, so time moves on for the estimates.
  for (const { balancer, hosts, slow } of [on, off]) {
    for (const host of hosts) {
      if (host === slow) continue;
      balancer.callStarted(host);
      balancer.callEnded(host, 1, false);
    }
  }
  const probed = countPicks(() => on.balancer.pick(NO_REQUEST), 4);
  assert.equal(probed.get(on.slow.key), 1, 'one pick in a round of four is the probe');
  on.balancer.callStarted(on.slow);
  const busy = countPicks(() => on.balancer.pick(NO_REQUEST), 100);
  assert.equal(busy.get(on.slow.key), undefined, 'no second probe while one is in flight');
  on.balancer.callEnded(on.slow, 2, false);
  assert.ok(on.slow.latency.lastEstimate === 2, 'the probe answer replaced the old estimate');

  const never = countPicks(() => off.balancer.pick(NO_REQUEST), 1_000);
  assert.equal(never.get(off.slow.key), undefined);
});
