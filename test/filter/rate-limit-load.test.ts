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
import { adminRequest, startObservedProxy } from '../observability/observed-proxy.js';
import { clientFor, delay, type TestProxy } from '../support/proxy-harness.js';

const run = promisify(execFile);

/** The limit: 200 calls/s, so ±2 % of the ~1,100 admitted in 5 s is ±22 calls (≈ 110 ms). */
const RATE = 200;
/**
 * 100 tokens: an empty bucket refills to its cap only after 500 ms without a call (a stall of
 * h2load or of the proxy), which is when tokens would be lost; far past a busy machine's
 * scheduling and garbage-collection pauses.
 */
const BURST = 100;
const LOAD_S = 5;
/** h2load's streams per connection (-m): also the most calls it can leave unfinished at the end. */
const STREAMS = 32;

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

/**
 * h2load at `rps` calls per second for LOAD_S seconds; resolves with the calls it counted as
 * answered (refusals too: they are HTTP 200). Calls still in flight when its time is up (at most
 * STREAMS) are in none of its counts, though the proxy may have decided them.
 */
async function flood(proxy: TestProxy, body: string, rps: number, tenant: string): Promise<number> {
  const { stdout } = await run(
    'h2load',
    [
      '-D',
      `${LOAD_S}`,
      '-c',
      '1',
      '-m',
      `${STREAMS}`,
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
  // Every call it counted was answered: none failed, none cut.
  assert.equal(summary.total, summary.succeeded, stdout);
  assert.ok(
    summary.succeeded > rps * LOAD_S * 0.5,
    `h2load had ${summary.succeeded} of the ${rps * LOAD_S} calls it was asked for answered: too few to measure a rate by\n${stdout}`,
  );
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

/** The proxy's rateLimit decisions as its admin listener's /metrics reports them. */
async function decisions(admin: string): Promise<{ allow: number; deny: number }> {
  const res = await adminRequest(admin, '/metrics');
  assert.equal(res.status, 200);
  const count = (decision: string): number => {
    const line = res.body
      .split('\n')
      .find(
        (l) =>
          l.startsWith('switchyard_filter_decisions_total{') &&
          l.includes('filter="rateLimit"') &&
          l.includes('scope="route:echo"') &&
          l.includes(`decision="${decision}"`),
      );
    assert.ok(line !== undefined, `no ${decision} decisions in /metrics`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { allow: count('allow'), deny: count('deny') };
}

/**
 * Each call h2load counted was decided once; so may have been those it left in flight (STREAMS
 * per run at most) and `more` from elsewhere.
 */
function assertDecided(decided: number, loads: readonly number[], more: number): void {
  let low = 0;
  for (const l of loads) low += l;
  const high = low + loads.length * STREAMS + more;
  assert.ok(decided >= low && decided <= high, `${decided} decided, ${low}..${high} expected`);
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
    const proxy = await startObservedProxy({
      upstream: b.address,
      routes: [limitedRoute('route')],
    });
    t.after(() => proxy.close());
    const body = await requestBody(t);
    // 1,000 calls/s against 200/s; a grpc-js call halfway through must be refused.
    const done = flood(proxy, body, 5 * RATE, 'all');
    await delay((LOAD_S * 1000) / 2);
    const refused = await refusedCall(proxy, t, 'all');
    const load = await done;
    assertPushback(refused);
    assertRate(t, admitted, 'route');
    const counted = await decisions(proxy.admin);
    assert.equal(counted.allow, admitted.length);
    assert.equal(b.calls, admitted.length);
    // Every h2load call was decided once (the grpc-js calls too: at most 20 of them).
    const decided = counted.allow + counted.deny;
    assertDecided(decided, [load], 20);
    // The load was well over the rate: most calls were refused.
    assert.ok(counted.deny > decided / 2, `${counted.deny} of ${decided} refused`);
  });

  it('gives each metadata key its own rate, one key loaded 10× harder', async (t) => {
    const { b, admitted } = await countingBackend(t);
    const proxy = await startObservedProxy({
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
    const counted = await decisions(proxy.admin);
    assert.equal(counted.allow, admitted.length);
    assertDecided(counted.allow + counted.deny, [light, heavy], 0);
    // A third tenant, after the flood, still has its whole burst.
    const c = clientFor(t, proxy);
    const md = new grpc.Metadata();
    md.set('x-tenant', 'third');
    const r = await echoUnary(c, {}, { metadata: md });
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
  });
});
