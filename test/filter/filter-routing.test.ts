// Filters and routing, and filters and the deadline, end to end with real grpc-js clients and
// backends on loopback and filters loaded from module files: a listener filter's header is what
// routing matches; a filter picks a route by name (a canary cluster), whose own filters then
// run; an unknown name ends the call INTERNAL; a filter that waits past the deadline ends the
// call DEADLINE_EXCEEDED without it reaching the backend, one that waits less leaves the
// backend the rest of the time in its grpc-timeout; a cancel while a filter waits sends nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { FilterConfig, RouteConfig } from '../../config/types.js';
import { parseGrpcTimeout } from '../../grpc/grpc-timeout.js';
import { echoUnary, startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { startRawUpstream } from '../support/raw-upstream.js';
import {
  clientFor,
  delay,
  eventually,
  startTestProxy,
  testCluster,
} from '../support/proxy-harness.js';

const MODULES: Record<string, string> = {
  // Beta users go down the canary lane: routing sees the header this sets.
  'lane.mjs': `
export const routesSeen = [];
export default function createFilter() {
  return {
    name: 'lane',
    onRequestHeaders(ctx, md) {
      routesSeen.push(ctx.route);
      if ((md.get('x-user') ?? '').startsWith('beta-')) md.set('x-lane', 'canary');
    },
  };
}`,
  // Picks the route named in its options for calls that ask for it.
  'pick.mjs': `
export default function createFilter(options) {
  return {
    name: 'pick',
    onRequestHeaders(ctx, md) {
      if (md.get('x-canary') === 'yes') ctx.setRoute(options.route);
    },
  };
}`,
  // Waits on a real timer, as a key fetch would, and records how each call ended.
  'wait.mjs': `
export const ended = [];
export default function createFilter(options) {
  return {
    name: 'wait',
    onRequestHeaders() {
      return new Promise((resolve) => setTimeout(resolve, options.waitMs));
    },
    onCallEnd(ctx, end) {
      ended.push(end.code);
    },
  };
}`,
};

interface Modules {
  readonly dir: string;
  entry(file: string, options?: Record<string, unknown>): FilterConfig;
  load<T>(file: string): Promise<T>;
}

async function modules(t: TestContext): Promise<Modules> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-filter-routing-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(MODULES)) await writeFile(join(dir, name), text);
  return {
    dir,
    entry: (file, options = {}) => ({
      kind: 'module',
      source: `test:${file}`,
      module: join(dir, file),
      options,
    }),
    // The proxy imports the module by the same URL, so this is the same instance.
    load: async <T>(file: string) => (await import(pathToFileURL(join(dir, file)).href)) as T,
  };
}

async function backend(t: TestContext, name: string): Promise<EchoBackend> {
  const b = await startEchoBackend({ name });
  t.after(() => b.close());
  return b;
}

function route(
  name: string,
  cluster: string,
  headers: RouteConfig['match']['headers'],
  filters: FilterConfig[] = [],
): RouteConfig {
  return { name, match: { service: 'test.Echo', headers }, cluster, filters };
}

function metadata(values: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(values)) md.set(k, v);
  return md;
}

const SET_LANE = (lane: string): FilterConfig => ({
  kind: 'headers',
  source: 'test',
  request: { add: {}, set: { 'x-echo-lane': lane }, remove: [], rename: {} },
  response: { add: {}, set: {}, remove: [], rename: {} },
});

describe('filters that change the route', () => {
  it('routing matches a header a listener filter set', async (t) => {
    const m = await modules(t);
    const stable = await backend(t, 'stable');
    const canary = await backend(t, 'canary');
    const proxy = await startTestProxy({
      listener: { filters: [m.entry('lane.mjs')] },
      clusters: [
        testCluster('stable', `static:///${stable.address}`),
        testCluster('canary', `static:///${canary.address}`),
      ],
      routes: [
        route('canary', 'canary', [{ name: 'x-lane', exact: 'canary' }], [SET_LANE('canary')]),
        route('stable', 'stable', [], [SET_LANE('stable')]),
      ],
    });
    const c = clientFor(t, proxy);
    const users = ['beta-1', 'ann', 'bo', 'beta-2', 'cy', 'di'];
    for (const user of users) {
      const r = await echoUnary(c, {}, { metadata: metadata({ 'x-user': user }) });
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
      // The chosen route's filters ran: each lane's backend answers with its own lane.
      const lane = user.startsWith('beta-') ? 'canary' : 'stable';
      assert.deepEqual(r.headers?.get('x-echo-h-lane'), [lane]);
    }
    assert.equal(canary.calls, 2);
    assert.equal(stable.calls, 4);
    const mod = await m.load<{ routesSeen: string[] }>('lane.mjs');
    // Listener filters run before routing: no route yet.
    assert.deepEqual(mod.routesSeen, ['', '', '', '', '', '']);
  });

  it('a route filter picks the canary route by name; its filters run; an unknown name is INTERNAL', async (t) => {
    const m = await modules(t);
    const stable = await backend(t, 'stable');
    const canary = await backend(t, 'canary');
    const proxy = await startTestProxy({
      clusters: [
        testCluster('stable', `static:///${stable.address}`),
        testCluster('canary', `static:///${canary.address}`),
      ],
      routes: [
        // Reached only when a filter picks it: no call carries this header.
        route('canary', 'canary', [{ name: 'x-never-sent', present: true }], [SET_LANE('canary')]),
        route(
          'lost',
          'stable',
          [{ name: 'x-lost', present: true }],
          [m.entry('pick.mjs', { route: 'no-such-route' })],
        ),
        route('stable', 'stable', [], [m.entry('pick.mjs', { route: 'canary' })]),
      ],
    });
    const c = clientFor(t, proxy);
    for (let i = 0; i < 10; i++) {
      const pick = i % 3 === 0;
      const r = await echoUnary(c, {}, { metadata: metadata({ 'x-canary': pick ? 'yes' : 'no' }) });
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
      assert.deepEqual(r.headers?.get('x-echo-h-lane'), pick ? ['canary'] : []);
    }
    assert.equal(canary.calls, 4);
    assert.equal(stable.calls, 6);

    const lost = await echoUnary(
      c,
      {},
      { metadata: metadata({ 'x-lost': '1', 'x-canary': 'yes' }) },
    );
    assert.equal(lost.status.code, grpc.status.INTERNAL);
    assert.match(
      lost.status.details,
      /picked route "no-such-route", which the config does not have/,
    );
    assert.equal(canary.calls + stable.calls, 10);
    assert.equal(proxy.logged('picked route "no-such-route"').length, 1);
  });
});

describe('filters that pick a route on the listener', () => {
  it('a listener filter picks the canary route for some calls, over the route the headers match', async (t) => {
    const m = await modules(t);
    const stable = await backend(t, 'stable');
    const canary = await backend(t, 'canary');
    const proxy = await startTestProxy({
      listener: { filters: [m.entry('pick.mjs', { route: 'canary' })] },
      clusters: [
        testCluster('stable', `static:///${stable.address}`),
        testCluster('canary', `static:///${canary.address}`),
      ],
      routes: [
        route('stable', 'stable', [], [SET_LANE('stable')]),
        // After the catch-all: no call reaches it by matching.
        route('canary', 'canary', [], [SET_LANE('canary')]),
      ],
    });
    const c = clientFor(t, proxy);
    for (let i = 0; i < 8; i++) {
      const pick = i % 2 === 1;
      const r = await echoUnary(c, {}, { metadata: metadata({ 'x-canary': pick ? 'yes' : 'no' }) });
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
      assert.deepEqual(r.headers?.get('x-echo-h-lane'), [pick ? 'canary' : 'stable']);
    }
    assert.equal(canary.calls, 4);
    assert.equal(stable.calls, 4);
  });
});

describe('filter time and the deadline', () => {
  it('a filter waiting past the deadline: DEADLINE_EXCEEDED, and the backend never sees the call', async (t) => {
    const m = await modules(t);
    const b = await backend(t, 'b1');
    const proxy = await startTestProxy({
      upstream: b.address,
      // The cluster's maximum is the deadline: the client sets none, so only the proxy's counts.
      cluster: { timeouts: { defaultMs: undefined, maxMs: 300, connectMs: 1_000 } },
      routes: [route('slow', 'default', [], [m.entry('wait.mjs', { waitMs: 800 })])],
    });
    const c = clientFor(t, proxy);
    const r = await echoUnary(c, {});
    assert.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED);
    assert.match(r.status.details, /deadline of 300 ms exceeded while filters ran/);
    const mod = await m.load<{ ended: number[] }>('wait.mjs');
    assert.deepEqual(mod.ended, [grpc.status.DEADLINE_EXCEEDED]);
    // Past the time the filter lets go: still nothing upstream.
    await delay(800);
    assert.equal(b.calls, 0);
  });

  it('a filter that waits 200 ms under a 2 s deadline leaves the backend at most 1.8 s', async (t) => {
    const m = await modules(t);
    const raw = await startRawUpstream((stream) => {
      // A well-formed empty EchoResponse: headers, one zero-length message, OK.
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5));
      stream.resume();
    });
    t.after(() => raw.close());
    const proxy = await startTestProxy({
      upstream: raw.address,
      routes: [route('slow', 'default', [], [m.entry('wait.mjs', { waitMs: 200 })])],
    });
    const c = clientFor(t, proxy);
    const r = await echoUnary(c, {}, { deadlineMs: 2_000 });
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    assert.equal(raw.requests.length, 1);
    const forwarded = parseGrpcTimeout(raw.requests[0]['grpc-timeout']);
    assert.ok(forwarded !== undefined && forwarded > 0, `grpc-timeout ${forwarded}`);
    // 2 s less the 200 ms the filter took (and whatever the client's timer had used).
    assert.ok(forwarded <= 1_800, `grpc-timeout ${forwarded} ms`);
  });

  it('a client that cancels while a filter waits: the verdict is ignored, nothing goes upstream', async (t) => {
    const m = await modules(t);
    const b = await backend(t, 'b1');
    const proxy = await startTestProxy({
      upstream: b.address,
      routes: [route('slow', 'default', [], [m.entry('wait.mjs', { waitMs: 300 })])],
    });
    const c = clientFor(t, proxy);
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = c.Unary({}, new grpc.Metadata(), {}, () => {});
      call.on('status', resolve);
      setTimeout(() => call.cancel(), 50);
    });
    assert.equal(status.code, grpc.status.CANCELLED);
    const mod = await m.load<{ ended: number[] }>('wait.mjs');
    await eventually(() => mod.ended.length === 1, 2_000, 'the filter told of the end');
    assert.deepEqual(mod.ended, [grpc.status.CANCELLED]);
    await delay(400);
    assert.equal(b.calls, 0);
  });
});
