// The connection layer against independent HTTP/2 implementations: Debian's python3-h2 as a
// client of our server and as a server for our client, and nghttp2's nghttp and h2load.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { H2Connection, H2Stream, StreamOutcome } from '../../../h2/connection/index.js';
import { DEBIAN_PYTHON } from '../../support/hyperframe-peer.js';
import {
  type EchoListener,
  RecordingClient,
  REQUEST,
  startEchoListener,
  type StreamRecord,
} from './h2-pair.js';

const run = promisify(execFile);
// Compiled code runs from <repo>/dist/test/h2/connection; the script stays in <repo>/test/fixtures.
const PEER = fileURLToPath(new URL('../../../../test/fixtures/h2-peer.py', import.meta.url));

const listeners: EchoListener[] = [];
after(async () => {
  for (const l of listeners) await l.close();
});

async function listen(
  options: Parameters<typeof startEchoListener>[0] = {},
): Promise<EchoListener> {
  const l = await startEchoListener(options);
  listeners.push(l);
  return l;
}

interface PeerStream {
  id: number;
  status: string | null;
  length: number;
  equal: boolean;
  trailers: string[][] | null;
  reset: number | null;
}

async function pythonClient(port: number, streams: number, bytes: number): Promise<PeerStream[]> {
  const { stdout } = await run(
    DEBIAN_PYTHON,
    [PEER, 'client', String(port), String(streams), String(bytes)],
    {
      timeout: 60_000,
    },
  );
  return (JSON.parse(stdout) as { streams: PeerStream[] }).streams;
}

for (const [label, options] of [
  ['default windows', {}],
  ['16 KiB windows', { streamWindow: 16_384, connectionWindow: 65_535 }],
] as const) {
  test(`python3-h2 client ↔ our server (${label}): 8 streams of 200 KiB echoed`, async () => {
    const l = await listen(options);
    const streams = await pythonClient(l.port, 8, 200_000);
    assert.equal(streams.length, 8);
    for (const s of streams) {
      assert.equal(s.reset, null, `stream ${s.id} reset`);
      assert.equal(s.status, '200');
      assert.equal(s.length, 200_000);
      assert.equal(s.equal, true, `stream ${s.id} body differs`);
      assert.deepEqual(s.trailers, [['grpc-status', '0']]);
    }
    // Repeated fields arrived as separate fields.
    const request = l.echo.requests[0];
    assert.deepEqual(
      request.filter((_, i) => request[i - 1] === 'x-repeat'),
      ['a', 'b'],
    );
  });
}

test('our client ↔ python3-h2 server: 8 streams of 200 KiB echoed through 16 KiB windows', async () => {
  const child = spawn(DEBIAN_PYTHON, [PEER, 'server'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout }).once('line', resolve),
    );
    const { port } = JSON.parse(line) as { port: number };
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const recorder = new RecordingClient();
    let ready!: () => void;
    const settings = new Promise<void>((r) => (ready = r));
    const client = new H2Connection(
      socket,
      {
        onStream: () => recorder.onStream(),
        onSettings: () => ready(),
        onGoaway: (l, c) => recorder.onGoaway(l, c),
        onClose: (err) => (recorder.closedWith = err),
      },
      { role: 'client', streamWindow: 16_384 },
    );
    await settings;
    const records: Array<[StreamRecord, Buffer]> = [];
    for (let i = 0; i < 8; i++) {
      const stream = client.request(REQUEST, false, recorder);
      assert.ok(stream instanceof H2Stream);
      const record = recorder.track(stream);
      const body = Buffer.alloc(200_000, i + 1);
      stream.write(body, true);
      records.push([record, body]);
    }
    await Promise.all(records.map(([r]) => r.done));
    for (const [record, body] of records) {
      assert.equal(record.outcome, StreamOutcome.COMPLETE);
      assert.equal(record.headers?.[1], '200');
      assert.ok(Buffer.concat(record.data).equals(body));
      assert.deepEqual(record.trailers, ['grpc-status', '0']);
    }
    client.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.closed, true);
  } finally {
    child.stdin.end();
    child.kill();
  }
});

test('nghttp (nghttp2) uploads and gets the echo from our server', async () => {
  const l = await listen();
  const file = join(tmpdir(), `h2conn-nghttp-${process.pid}.bin`);
  writeFileSync(file, Buffer.alloc(300_000, 0x61));
  const { stdout } = await run('nghttp', ['-v', '-d', file, `http://127.0.0.1:${l.port}/echo`], {
    timeout: 30_000,
    maxBuffer: 16 << 20,
  });
  assert.match(stdout, /:status: 200/);
  assert.match(stdout, /grpc-status: 0/);
  assert.match(stdout, /recv GOAWAY|send GOAWAY/);
  assert.equal(l.echo.requests.length, 1);
  assert.deepEqual(
    l.echo.outcomes.map((o) => o[1]),
    [StreamOutcome.COMPLETE],
  );
});

test('h2load (nghttp2): 2,000 requests over 4 connections, 16 streams each, all succeed', async () => {
  const l = await listen();
  const { stdout } = await run(
    'h2load',
    ['-n', '2000', '-c', '4', '-m', '16', `http://127.0.0.1:${l.port}/`],
    {
      timeout: 60_000,
    },
  );
  assert.match(stdout, /2000 succeeded, 0 failed, 0 errored/);
});
