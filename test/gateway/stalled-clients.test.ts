// Gateway clients that stop reading a stream: REST over HTTP/1.1 and HTTP/2, and gRPC-Web, each
// cut after the listener's stalledStreamTimeout, with the call cancelled at a real grpc-js
// backend and the cut counted, while other clients are served.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { fetch, request } from 'undici';
import type { ListenerGatewayConfig } from '../../config/types.js';
import { eventually, type TestProxy } from '../support/proxy-harness.js';
import { startLibraryGateway, type LibraryGateway } from '../support/library-gateway.js';
import type { LibraryBackend } from '../support/library-backend.js';

const GATEWAY: ListenerGatewayConfig = {
  grpcWeb: true,
  openapiPath: '',
  rest: true,
  forwardHeaders: ['x-*'],
  maxBodyBytes: 1024,
  emitDefaults: false,
  useProtoNames: false,
};

const STALL_MS = 300;
// Books of about 1 KB (each echoes the shelf's name), 20 MB in all: far more than the socket
// buffers and the upstream stream's window hold, so a client that reads nothing stalls it.
const SHELF = 'x'.repeat(1_000);
const STREAM = `/v1/shelves/${SHELF}/books:stream?count=20000`;

void describe('gateway clients that stop reading', () => {
  let gw: LibraryGateway;
  let backend: LibraryBackend;
  let proxy: TestProxy;
  let base: string;

  before(async () => {
    gw = await startLibraryGateway({
      gateway: GATEWAY,
      listener: { stalledStreamTimeoutMs: STALL_MS },
    });
    ({ backend, proxy, base } = gw);
  });

  after(() => gw.close());

  const stalledCuts = () => [...proxy.proxy.listenerList()][0].resets.stalled;

  /** Waits for the backend to see one more ListBooks cancelled, and a cut counted. */
  async function cancelledUpstream(cancelsBefore: number, cutsBefore: number): Promise<void> {
    // A few stall timeouts, with room for a loaded machine.
    await eventually(() => backend.listsCancelled > cancelsBefore, 15_000, 'the cancel upstream');
    assert.equal(stalledCuts(), cutsBefore + 1);
  }

  it('cuts an HTTP/1.1 client that reads none of a REST stream, and cancels its call', async () => {
    const cancels = backend.listsCancelled;
    const cuts = stalledCuts();
    const { statusCode, body } = await request(base + STREAM);
    assert.equal(statusCode, 200);
    // undici reads no more of the socket than the unread body holds: the client is stalled.
    await cancelledUpstream(cancels, cuts);
    // The connection was closed mid-body: what the client had buffered ends in an error, not
    // in a complete-looking stream.
    await assert.rejects(body.text());
    // Others are served meanwhile and after.
    const ping = await fetch(`${base}/v1/shelves/s1/books:stream?count=2`);
    assert.equal(ping.status, 200);
    assert.equal((await ping.text()).trim().split('\n').length, 3);
  });

  it('resets an HTTP/2 stream whose client reads none of it (ENHANCE_YOUR_CALM)', async () => {
    const cancels = backend.listsCancelled;
    const cuts = stalledCuts();
    const session = http2.connect(base);
    try {
      const req = session.request({ ':path': STREAM, ':method': 'GET' });
      // Nothing reads the stream: node:http2 stops opening its window once its buffer is full.
      req.on('error', () => {}); // the reset, read from rstCode below
      const closed = new Promise<number>((resolve) => req.on('close', () => resolve(req.rstCode)));
      await cancelledUpstream(cancels, cuts);
      assert.equal(await closed, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      // The connection stays, and serves the next request.
      const next = session.request({ ':path': '/v1/shelves/s1/books:stream?count=1' });
      next.setEncoding('utf8');
      let text = '';
      next.on('data', (chunk: string) => (text += chunk));
      await new Promise((resolve) => next.on('end', resolve));
      assert.match(text, /"code":0/);
    } finally {
      session.close();
    }
  });

  it('cuts a gRPC-Web client that reads none of a server stream', async () => {
    const cancels = backend.listsCancelled;
    const cuts = stalledCuts();
    // library.v1.ListBooksRequest { parent = SHELF (field 1), count = 20000 (field 2) }.
    const parent = Buffer.from(SHELF);
    const message = Buffer.concat([
      Buffer.from([0x0a, 0xe8, 0x07]), // field 1, length 1,000 as a varint
      parent,
      Buffer.from([0x10, 0xa0, 0x9c, 0x01]), // field 2, varint 20,000
    ]);
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const { statusCode, body } = await request(`${base}/library.v1.Library/ListBooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
      body: frame,
    });
    assert.equal(statusCode, 200);
    await cancelledUpstream(cancels, cuts);
    await assert.rejects(body.arrayBuffer());
  });
});
