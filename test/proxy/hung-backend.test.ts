// A backend that hangs (its process stopped with SIGSTOP: connections stay open, nothing is
// answered) is routed around within seconds, and one that recovers (SIGCONT) gets calls again
// within seconds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_OUTLIER_DETECTION } from '../../config/defaults.js';
import type { ClusterConfig } from '../../config/types.js';
import { echoClient, echoUnary, type EchoServiceClient } from '../support/echo-backend.js';
import { spawnEchoBackend, type EchoBackendProcess } from '../support/echo-backend-process.js';
import { delay, eventually, startTestProxy, type TestProxy } from '../support/proxy-harness.js';

interface Outcome {
  /** Date.now() when the call ended. */
  readonly at: number;
  readonly code: grpc.status;
  /** The backend that answered, for calls that succeeded. */
  readonly backend: string | undefined;
}

/** `workers` loops of unary calls with a deadline, until `stop()` returns true. */
function load(
  client: EchoServiceClient,
  workers: number,
  deadlineMs: number,
  stop: () => boolean,
): { outcomes: Outcome[]; done: Promise<void> } {
  const outcomes: Outcome[] = [];
  const worker = async () => {
    while (!stop()) {
      const r = await echoUnary(client, { delayMs: 5 }, { deadlineMs });
      outcomes.push({ at: Date.now(), code: r.status.code, backend: r.response?.backend });
    }
  };
  return { outcomes, done: Promise.all(Array.from({ length: workers }, worker)).then(() => {}) };
}

async function setup(
  t: { after: (fn: () => Promise<void>) => void },
  cluster: Partial<ClusterConfig>,
): Promise<{
  hung: EchoBackendProcess;
  live: EchoBackendProcess;
  proxy: TestProxy;
  client: EchoServiceClient;
}> {
  const hung = await spawnEchoBackend('hung');
  const live = await spawnEchoBackend('live');
  const proxy = await startTestProxy({ upstream: [hung.address, live.address], cluster });
  const client = echoClient(proxy.target);
  t.after(async () => {
    client.close();
    await proxy.close();
    await hung.kill();
    await live.kill();
  });
  // Both take calls before the test starts.
  const seen = new Set<string>();
  await eventually(
    async () => {
      const r = await echoUnary(client, {}, { deadlineMs: 2_000 });
      if (r.response) seen.add(r.response.backend);
      return seen.size === 2;
    },
    10_000,
    'both backends to answer',
  );
  return { hung, live, proxy, client };
}

describe('a hung backend', () => {
  it('is routed around with round_robin: calls that time out unanswered count as its failures', async (t) => {
    const { hung, client } = await setup(t, {
      balancer: { policy: 'round_robin', settings: {} },
      outlierDetection: DEFAULT_OUTLIER_DETECTION,
    });
    let stop = false;
    const { outcomes, done } = load(client, 8, 1_000, () => stop);
    await delay(1_000);
    hung.pause();
    const stoppedAt = Date.now();
    await delay(7_000);
    hung.resume();
    stop = true;
    await done;

    // A few calls time out on the hung backend at first; from 3 s on (5 timeouts in a row eject
    // it) every call goes to the live one.
    const late = outcomes.filter((o) => o.at >= stoppedAt + 3_000 && o.at < stoppedAt + 7_000);
    const lateFailures = late.filter((o) => o.code !== grpc.status.OK);
    assert.ok(late.length >= 20, `only ${late.length} calls ended in the last 4 s of the hang`);
    // (A call to the live backend may miss its 1 s deadline on a loaded machine now and then.)
    assert.ok(
      lateFailures.length <= 3,
      `${lateFailures.length} of ${late.length} calls failed 3–7 s into the hang: ` +
        lateFailures.map((o) => `${grpc.status[o.code]} at +${o.at - stoppedAt} ms`).join(', '),
    );
    const failures = outcomes.filter((o) => o.code !== grpc.status.OK);
    assert.ok(failures.length <= 30, `${failures.length} calls failed in all`);
  });

  it('gets calls again within seconds of recovering, with least_loaded', async (t) => {
    const { hung, client } = await setup(t, {
      balancer: { policy: 'least_loaded', settings: {} },
    });
    let stop = false;
    const { outcomes, done } = load(client, 6, 2_000, () => stop);
    await delay(1_000);
    hung.pause();
    await delay(4_000);
    hung.resume();
    const resumedAt = Date.now();
    let foundAt = 0;
    try {
      await eventually(
        () => outcomes.some((o) => o.at > resumedAt && o.backend === 'hung'),
        5_000,
        'a call answered by the recovered backend',
      );
      foundAt = Date.now();
      await delay(3_000);
    } finally {
      stop = true;
      await done;
    }
    // Back in the rotation, not just probed once: a fair share of the calls after that.
    const after = outcomes.filter((o) => o.at > foundAt + 1_000);
    const share = after.filter((o) => o.backend === 'hung').length / after.length;
    assert.ok(
      share > 0.15,
      `recovered backend served ${(share * 100).toFixed(1)} % of ${after.length}`,
    );
  });
});
