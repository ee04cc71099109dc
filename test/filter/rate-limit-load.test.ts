// The rateLimit built-in on a real clock under h2load: a route limited to R calls per second,
// loaded well past R for 5 s, admits burst + R × window within ±2 %, the window being the span
// from the first to the last admitted call as the backend saw them (so the check is on the
// limiter, not on how evenly h2load or the scheduler spread the requests). Keyed by a metadata
// value, two tenants loaded 10× apart each get their own R. A refused grpc-js call carries
// RESOURCE_EXHAUSTED with a grpc-retry-pushback-ms no longer than one token's refill time.
// h2load counts HTTP status only (a refusal is a 200 with grpc-status 8 in trailers), so
// admitted calls are counted at the backend and checked against the proxy's decision counters.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { RouteConfig } from '../../config/types.js';
import { parseSummary } from '../../bench/h2load.js';
import { echoUnary, startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { clientFor, delay, startTestProxy, type TestProxy } from '../support/proxy-harness.js';

const run = promisify(execFile);

/** The limit: 200 calls/s, so ±2 % of the ~1,050 admitted in 5 s is ±21 calls (≈ 100 ms). */
const RATE = 200;
/**
 * 50 tokens: a stall of the proxy's event loop would have to last 250 ms before the bucket
 * overflowed and tokens were lost, far past a busy machine's garbage-collection pauses.
 */
const BURST = 50;
const LOAD_S = 5;

interface Admitted {
  /** performance.now() when the backend got the call. */
  readonly at: number;
  readonly tenant: string;
}

/** The backend, recording when each call it serves arrives and for which tenant. */
async function countingBackend(t: TestContext): Promise<{ b: EchoBackend; admitted: Admitted[] }> {
  const b = await startEchoBackend({ name: 'b1' });
  t.after(() => b.close());
  const admitted: Admitted[] = [];
  b.events.on('call', () => {
    admitted.push({ at: performance.now(), tenant: String(b.lastMetadata?.get('x-tenant')[0]) });
  });
  return { b, admitted };
}

function limitedRoute(key: string): RouteConfig {
  return {
    name: 'echo',
    match: { service: 'test.Echo', headers: [] },
    cluster: 'default',
    filters: [
      {
        kind: 'rateLimit',
        source: 'test',
        requestsPerSecond: RATE,
        burst: BURST,
        key,
        maxKeys: 100,
      },
    ],
  };
}

/** One empty test.EchoRequest, length-prefixed: every call a plain Unary echo. */
async function requestBody(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-ratelimit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'request.bin');
  await writeFile(file, Buffer.from([0, 0, 0, 0, 0]));
  return file;
}

/** h2load at `rps` calls per second for LOAD_S seconds; resolves with the calls it finished. */
async function flood(proxy: TestProxy, body: string, rps: number, tenant: string): Promise<number> {
  const { stdout } = await run(
    'h2load',
    [
      '-D',
      `${LOAD_S}`,
      '-c',
      '1',
      '-m',
      '32',
      '-t',
      '1',
      `--rps=${rps}`,
      '-d',
      body,
      '-H',
      'content-type: application/grpc',
      '-H',
      'te: trailers',
      '-H',
      `x-tenant: ${tenant}`,
      `http://${proxy.target}/test.Echo/Unary`,
    ],
    // Bounded: h2load stops itself after LOAD_S; the kill is for a hung run.
    { timeout: (LOAD_S + 10) * 1000, killSignal: 'SIGKILL' },
  );
  const summary = parseSummary(stdout);
  // Every call finished (refusals are HTTP 200 too): none lost, none cut.
  assert.equal(summary.errored + summary.failed + summary.timeouts, 0, stdout);
  return summary.succeeded;
}

/** The admitted calls of one tenant against burst + rate × their window, ±2 %. */
function assertRate(t: TestContext, calls: readonly Admitted[], what: string): void {
  assert.ok(calls.length > BURST, `${what}: only ${calls.length} calls admitted`);
  const windowS = (calls[calls.length - 1].at - calls[0].at) / 1000;
  const expected = BURST + RATE * windowS;
  const error = (calls.length - expected) / expected;
  const report = `${what}: ${calls.length} admitted over ${windowS.toFixed(3)} s, expected ${expected.toFixed(1)} (${(error * 100).toFixed(2)} %)`;
  t.diagnostic(report);
  assert.ok(Math.abs(error) <= 0.02, report);
  // The load lasted LOAD_S: the window must cover most of it, or the test measured too little.
  assert.ok(windowS > LOAD_S * 0.8, `${what}: window ${windowS.toFixed(3)} s`);
}

/** grpc-js calls (at most 20) until one is refused; its status and pushback. */
async function refusedCall(proxy: TestProxy, t: TestContext, tenant: string) {
  const c = clientFor(t, proxy);
  const md = new grpc.Metadata();
  md.set('x-tenant', tenant);
  for (let i = 0; i < 20; i++) {
    const r = await echoUnary(c, {}, { metadata: md });
    if (r.status.code !== grpc.status.OK) return r.status;
  }
  assert.fail('20 calls during the flood were all admitted');
}

function decisions(proxy: TestProxy): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of proxy.proxy.filterDecisions.all()) {
    if (s.filter === 'rateLimit') out[s.decision] = s.counter.value;
  }
  return out;
}

/** The pushback is one token's refill time at most: 1000 / RATE ms. */
function assertPushback(status: grpc.StatusObject): void {
  assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED, status.details);
  const pushback = status.metadata.get('grpc-retry-pushback-ms');
  assert.equal(pushback.length, 1);
  const ms = Number(pushback[0]);
  assert.ok(
    Number.isInteger(ms) && ms >= 1 && ms <= 1000 / RATE,
    `pushback ${String(pushback[0])}`,
  );
  assert.match(status.details, /rate limit: 200 calls per second/);
}

describe('rateLimit under h2load on a real clock', () => {
  it('admits burst + rate × window within ±2 % on one route bucket', async (t) => {
    const { b, admitted } = await countingBackend(t);
    const proxy = await startTestProxy({ upstream: b.address, routes: [limitedRoute('route')] });
    t.after(() => proxy.close());
    const body = await requestBody(t);
    // 1,000 calls/s against 200/s; a grpc-js call halfway through must be refused.
    const done = flood(proxy, body, 5 * RATE, 'all');
    await delay((LOAD_S * 1000) / 2);
    const refused = await refusedCall(proxy, t, 'all');
    const finished = await done;
    assertPushback(refused);
    assertRate(t, admitted, 'route');
    const counted = decisions(proxy);
    assert.equal(counted.allow, admitted.length);
    assert.equal(b.calls, admitted.length);
    // Every h2load call was decided once (the grpc-js calls too: at most 20 of them).
    const decided = counted.allow + counted.deny;
    assert.ok(decided >= finished && decided <= finished + 20, `${decided} vs ${finished}`);
    // The load was well over the rate: most calls were refused.
    assert.ok(counted.deny > decided / 2, `${counted.deny} of ${decided} refused`);
  });

  it('gives each metadata key its own rate, one key loaded 10× harder', async (t) => {
    const { b, admitted } = await countingBackend(t);
    const proxy = await startTestProxy({
      upstream: b.address,
      routes: [limitedRoute('metadata.x-tenant')],
    });
    t.after(() => proxy.close());
    const body = await requestBody(t);
    // 2× and 20× the rate, at the same time, on separate connections.
    const [light, heavy] = await Promise.all([
      flood(proxy, body, 2 * RATE, 'light'),
      flood(proxy, body, 20 * RATE, 'heavy'),
    ]);
    assertRate(
      t,
      admitted.filter((a) => a.tenant === 'light'),
      'light tenant',
    );
    assertRate(
      t,
      admitted.filter((a) => a.tenant === 'heavy'),
      'heavy tenant',
    );
    const counted = decisions(proxy);
    assert.equal(counted.allow, admitted.length);
    assert.equal(counted.allow + counted.deny, light + heavy);
    // A third tenant, after the flood, still has its whole burst.
    const c = clientFor(t, proxy);
    const md = new grpc.Metadata();
    md.set('x-tenant', 'third');
    const r = await echoUnary(c, {}, { metadata: md });
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
  });
});
