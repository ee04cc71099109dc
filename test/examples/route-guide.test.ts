// The route guide example: server methods, the mixed-workload client, its summary table, TLS,
// and both programs run directly from dist/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RouteGuideClient } from '../../examples/route-guide/client.js';
import {
  createRouteGuideClient,
  formatSummary,
  percentile,
  runRouteGuideClient,
  summarize,
} from '../../examples/route-guide/client.js';
import type { Feature, RouteNote, RouteSummary } from '../../examples/route-guide/features.js';
import { distanceMeters, gridPoint } from '../../examples/route-guide/features.js';
import type { RouteGuideServer } from '../../examples/route-guide/server.js';
import { startRouteGuideServer } from '../../examples/route-guide/server.js';
import { createTestCerts } from '../support/certs.js';

const serverScript = fileURLToPath(
  new URL('../../examples/route-guide/server.js', import.meta.url),
);
const clientScript = fileURLToPath(
  new URL('../../examples/route-guide/client.js', import.meta.url),
);

void describe('route guide server', () => {
  let server: RouteGuideServer;
  let client: RouteGuideClient;

  before(async () => {
    server = await startRouteGuideServer({ name: 'a' });
    client = createRouteGuideClient(server.address);
  });

  after(async () => {
    client.close();
    server.kill();
    await server.close();
  });

  void test('GetFeature names grid points and answers an empty name elsewhere', async () => {
    const get = (latitude: number, longitude: number) =>
      new Promise<Feature>((resolve, reject) => {
        client.GetFeature({ latitude, longitude }, new grpc.Metadata(), {}, (error, feature) =>
          error || !feature ? reject(error ?? new Error('no feature')) : resolve(feature),
        );
      });
    const corner = gridPoint(2, 6);
    assert.equal((await get(corner.latitude, corner.longitude)).name, 'Cedar Point');
    const nowhere = await get(1, 2);
    assert.equal(nowhere.name, '');
    assert.deepEqual(nowhere.location, { latitude: 1, longitude: 2 });
  });

  void test('ListFeatures streams exactly the features inside the rectangle', async () => {
    const names: string[] = [];
    // Corners given high-then-low: the server must accept either order.
    const call = client.ListFeatures({ lo: gridPoint(1, 1), hi: gridPoint(0, 0) });
    for await (const feature of call as AsyncIterable<Feature>) names.push(feature.name);
    assert.deepEqual(names.sort(), [
      'Amber Bridge',
      'Amber Crossing',
      'Birch Bridge',
      'Birch Crossing',
    ]);
  });

  void test('RecordRoute counts points and features and sums the distance', async () => {
    const route = [gridPoint(0, 0), gridPoint(0, 1), { latitude: 1, longitude: 1 }];
    const summary = await new Promise<RouteSummary>((resolve, reject) => {
      const call = client.RecordRoute(new grpc.Metadata(), {}, (error, value) =>
        error || !value ? reject(error ?? new Error('no summary')) : resolve(value),
      );
      for (const point of route) call.write(point);
      call.end();
    });
    assert.equal(summary.pointCount, 3);
    assert.equal(summary.featureCount, 2);
    assert.equal(
      summary.distance,
      distanceMeters(route[0], route[1]) + distanceMeters(route[1], route[2]),
    );
    assert.ok(summary.distance > 800 && summary.distance < 10_000_000);
    assert.equal(summary.elapsedTime, 0);
  });

  void test('RouteChat answers each note with the earlier notes at its location', async () => {
    const here = gridPoint(3, 3);
    const there = gridPoint(4, 4);
    const call = client.RouteChat();
    const received: string[] = [];
    call.on('data', (note: RouteNote) => received.push(note.message));
    const ended = once(call, 'end');
    call.write({ location: here, message: 'h1' });
    call.write({ location: there, message: 't1' });
    call.write({ location: here, message: 'h2' });
    call.write({ location: here, message: 'h3' });
    call.end();
    await ended;
    assert.deepEqual(received, ['h1', 'h1', 'h2']);
  });

  void test('the client runs all four call kinds and reports the backend', async () => {
    const before = new Map(server.calls);
    const records = await runRouteGuideClient(server.address, { calls: 40, concurrency: 4 });
    assert.equal(records.length, 40);
    for (const record of records) {
      assert.equal(record.ok, true, record.error);
      assert.equal(record.backend, 'a');
      assert.ok(record.latencyMs >= 0);
    }
    const kinds = new Map<string, number>();
    for (const r of records) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(kinds), {
      unary: 10,
      'server-streaming': 10,
      'client-streaming': 10,
      bidi: 10,
    });
    for (const method of ['GetFeature', 'ListFeatures', 'RecordRoute', 'RouteChat']) {
      assert.equal((server.calls.get(method) ?? 0) - (before.get(method) ?? 0), 10, method);
    }
    const summary = summarize(records);
    assert.equal(summary.backends.length, 1);
    assert.equal(summary.backends[0]?.backend, 'a');
    assert.equal(summary.backends[0]?.calls, 40);
  });

  void test('setDelay slows calls that start afterwards', async () => {
    server.setDelay(120);
    try {
      const records = await runRouteGuideClient(server.address, { calls: 4, concurrency: 4 });
      for (const record of records) {
        assert.equal(record.ok, true, record.error);
        assert.ok(record.latencyMs >= 110, `${record.kind} took ${record.latencyMs} ms`);
      }
    } finally {
      server.setDelay(0);
    }
  });

  void test('failed calls are records, not rejections', async () => {
    server.setDelay(2000);
    try {
      const records = await runRouteGuideClient(server.address, { calls: 4, deadlineMs: 100 });
      for (const record of records) {
        assert.equal(record.ok, false);
        assert.match(record.error ?? '', /^DEADLINE_EXCEEDED: /);
      }
    } finally {
      server.setDelay(0);
    }
  });
});

void describe('route guide summary', () => {
  void test('percentiles use the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 0.5), 50);
    assert.equal(percentile(sorted, 0.9), 90);
    assert.equal(percentile(sorted, 0.99), 99);
    assert.equal(percentile([7], 0.99), 7);
    assert.equal(percentile([], 0.5), 0);
  });

  void test('summarize groups by backend and formatSummary aligns the table', () => {
    const records = [
      ...Array.from({ length: 3 }, (_, i) => ({
        kind: 'unary' as const,
        backend: 'alpha',
        latencyMs: i + 1,
        ok: true,
      })),
      { kind: 'bidi' as const, backend: 'b', latencyMs: 10, ok: true },
      {
        kind: 'unary' as const,
        backend: undefined,
        latencyMs: 5,
        ok: false,
        error: 'UNAVAILABLE: no ready backend',
      },
    ];
    const summary = summarize(records);
    assert.equal(summary.total, 5);
    assert.equal(summary.failed, 1);
    assert.deepEqual(
      summary.backends.map((b) => [b.backend, b.calls, b.ok, b.failed, b.p50, b.p99]),
      [
        ['alpha', 3, 3, 0, 2, 3],
        ['b', 1, 1, 0, 10, 10],
        ['(none)', 1, 0, 1, 5, 5],
      ],
    );
    assert.deepEqual(summary.errors, [{ error: 'UNAVAILABLE: no ready backend', count: 1 }]);
    const lines = formatSummary(summary).trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^backend\s+calls\s+share\s+ok\s+failed\s+p50 ms\s+p90 ms\s+p99 ms$/,
    );
    assert.match(lines[1] ?? '', /^alpha\s+3\s+60\.0%\s+3\s+0\s+2\.00\s+3\.00\s+3\.00$/);
    assert.match(lines[4] ?? '', /^total\s+5\s+100\.0%\s+4\s+1\s/);
    assert.equal(lines[5], '1 × UNAVAILABLE: no ready backend');
    // Right-aligned numeric columns end at the same offset on every table line.
    const tableLines = lines.slice(0, 5);
    assert.equal(new Set(tableLines.map((l) => l.length)).size, 1);
  });
});

void describe('route guide over TLS', () => {
  void test('client and server work with the throwaway CA', async (t) => {
    const certs = await createTestCerts();
    t.after(() => certs.cleanup());
    const server = await startRouteGuideServer({
      name: 'tls',
      credentials: grpc.ServerCredentials.createSsl(null, [
        { cert_chain: certs.serverCert, private_key: certs.serverKey },
      ]),
    });
    t.after(() => server.kill());
    const records = await runRouteGuideClient(`localhost:${server.port}`, {
      calls: 8,
      credentials: grpc.credentials.createSsl(certs.ca),
    });
    assert.deepEqual(
      records.map((r) => [r.ok, r.backend, r.error]),
      Array.from({ length: 8 }, () => [true, 'tls', undefined]),
    );
    const untrusting = await runRouteGuideClient(`localhost:${server.port}`, {
      calls: 1,
      credentials: grpc.credentials.createSsl(),
      deadlineMs: 2000,
    });
    assert.equal(untrusting[0]?.ok, false, 'a client without the CA must not connect');
  });
});

void describe('route guide programs', () => {
  void test('server and client run directly from dist/', async (t) => {
    const server = spawn(process.execPath, [serverScript, '--port', '0', '--name', 'cli'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => server.kill('SIGKILL'));
    let stderr = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: server.stdout });
    const [line] = (await Promise.race([
      once(lines, 'line'),
      once(server, 'exit').then(() => {
        throw new Error(`server exited early: ${stderr}`);
      }),
    ])) as [string];
    const match = /listening on (127\.0\.0\.1:\d+)$/.exec(line);
    assert.ok(match, line);
    const target = match[1] ?? '';

    const client = spawn(process.execPath, [clientScript, '--target', target, '--calls', '8'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => client.kill('SIGKILL'));
    let output = '';
    client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [clientCode] = (await once(client, 'exit')) as [number | null];
    assert.equal(clientCode, 0, output);
    assert.match(output, /^cli\s+8\s+100\.0%\s+8\s+0\s/m);

    server.kill('SIGTERM');
    const [serverCode] = (await once(server, 'exit')) as [number | null];
    assert.equal(serverCode, 0, stderr);
    assert.match(stderr, /SIGTERM/);
  });
});
