// The built-in filters in the proxy, end to end with grpc-js on loopback: a rate limit on an
// injected clock admits exactly rate × time + burst and refuses the rest RESOURCE_EXHAUSTED
// with grpc-retry-pushback-ms; the headers filter edits request and response metadata from
// the peer's address; a listener's filters run before the route's.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { systemClock } from '../../common/clock.js';
import type { FilterConfig, HeaderEditsConfig, RouteConfig } from '../../config/types.js';
import { echoUnary, startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { clientFor, startTestProxy } from '../support/proxy-harness.js';

const NO_EDITS: HeaderEditsConfig = { add: {}, set: {}, remove: [], rename: {} };

async function backend(t: TestContext): Promise<EchoBackend> {
  const b = await startEchoBackend({ name: 'b1' });
  t.after(() => b.close());
  return b;
}

function route(filters: FilterConfig[]): RouteConfig {
  return {
    name: 'echo',
    match: { service: 'test.Echo', headers: [] },
    cluster: 'default',
    filters,
  };
}

describe('built-in filters in the proxy', () => {
  it('rateLimit admits rate × time + burst and refuses the rest with a pushback', async (t) => {
    const b = await backend(t);
    let now = 0;
    const proxy = await startTestProxy({
      upstream: b.address,
      routes: [
        route([
          {
            kind: 'rateLimit',
            source: 'test',
            requestsPerSecond: 50,
            burst: 10,
            key: 'route',
            maxKeys: 10,
          },
        ]),
      ],
      proxyOptions: { filterClock: { ...systemClock, now: () => now } },
    });
    const c = clientFor(t, proxy);
    const burst = async (n: number) => {
      const results = await Promise.all(Array.from({ length: n }, () => echoUnary(c, {})));
      return results;
    };
    let admitted = 0;
    let refused = 0;
    // Steady demand over the rate: 12 calls every 100 ms of the filter's clock for 3 s (120/s
    // against 50/s), the bucket never idle long enough to fill past its burst.
    let sent = 0;
    for (let at = 0; at <= 3000; at += 100) {
      now = at;
      sent += 12;
      for (const r of await burst(12)) {
        if (r.status.code === grpc.status.OK) admitted++;
        else {
          refused++;
          assert.equal(r.status.code, grpc.status.RESOURCE_EXHAUSTED);
          const pushback = Number(r.status.metadata.get('grpc-retry-pushback-ms')[0]);
          assert.ok(pushback >= 1 && pushback <= 20, `pushback ${pushback}`);
        }
      }
    }
    // 50/s × 3 s + 10: exact on an injected clock (±2 % is the bound under a real one).
    assert.equal(admitted, 50 * 3 + 10);
    assert.equal(refused, sent - admitted);
    assert.equal(b.calls, admitted);
    const decisions = [...proxy.proxy.filterDecisions.all()].map(
      (s) => `${s.filter} ${s.scope} ${s.decision} ${s.counter.value}`,
    );
    assert.deepEqual(decisions.sort(), [
      `rateLimit route:echo allow ${admitted}`,
      `rateLimit route:echo deny ${refused}`,
    ]);
  });

  it('headers edits request and response metadata, the listener first', async (t) => {
    const b = await backend(t);
    const proxy = await startTestProxy({
      upstream: b.address,
      listener: {
        filters: [
          {
            kind: 'headers',
            source: 'test',
            request: { ...NO_EDITS, set: { 'x-echo-via': 'listener' } },
            response: NO_EDITS,
          },
        ],
      },
      routes: [
        route([
          {
            kind: 'headers',
            source: 'test',
            request: {
              add: { 'x-echo-peer': 'client ${peer.address}', 'x-echo-cn': '${peer.cn}' },
              set: { 'x-echo-via': 'route' },
              remove: ['x-secret'],
              rename: { 'x-old': 'x-echo-new' },
            },
            response: { ...NO_EDITS, set: { 'x-served-by': 'switchyard' }, remove: ['x-backend'] },
          },
        ]),
      ],
    });
    const c = clientFor(t, proxy);
    const md = new grpc.Metadata();
    md.set('x-secret', 's3cret');
    md.set('x-old', 'moved');
    const r = await echoUnary(c, {}, { metadata: md });
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    const seen = b.lastMetadata!;
    assert.deepEqual(seen.get('x-secret'), []);
    assert.deepEqual(seen.get('x-old'), []);
    assert.deepEqual(seen.get('x-echo-new'), ['moved']);
    // The route's set ran after the listener's.
    assert.deepEqual(seen.get('x-echo-via'), ['route']);
    assert.match(String(seen.get('x-echo-peer')[0]), /^client 127\.0\.0\.1:\d+$/);
    // No client certificate: a value that needs one is not written.
    assert.deepEqual(seen.get('x-echo-cn'), []);
    assert.deepEqual(r.headers?.get('x-served-by'), ['switchyard']);
    assert.deepEqual(r.headers?.get('x-backend'), []);
    assert.deepEqual(r.headers?.get('x-echo-h-new'), ['moved']);
  });
});
