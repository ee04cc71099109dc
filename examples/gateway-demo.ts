// `npm run demo:gateway`: a route_guide backend, the switchyard binary in front of it with
// `--gateway --proto route_guide_api.proto`, and the calls a curl user, a browser and a
// streaming client make through the same port: REST unary, a server stream as NDJSON, a client
// stream from an NDJSON body, gRPC-Web, and the OpenAPI document. Loopback only; ends by itself.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, fromBinary, toBinary, toJsonString } from '@bufbuild/protobuf';
import { loadProtos } from '../gateway/descriptor-pool.js';
import { GRID_ORIGIN, GRID_STEP } from './route-guide/features.js';
import { startRouteGuideServer } from './route-guide/server.js';
import { PROTOS_DIR } from './protos.js';

const BIN = fileURLToPath(new URL('../bin/switchyard.js', import.meta.url));
const API_PROTO = join(PROTOS_DIR, 'route_guide_api.proto');
/** The whole demo is cut off after this long, whatever happens. */
const DEADLINE_MS = 30_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the binary and resolves once it logs that it listens. */
function startProxy(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (log.includes('"listening"')) {
        child.stderr.off('data', onData);
        child.stderr.resume();
        resolve(child);
      }
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`switchyard exited with ${code}:\n${log}`)));
  });
}

function stopProxy(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Prints a request the way curl would be typed, then the answer's status line and body. */
async function curl(display: string, url: string, init?: RequestInit): Promise<void> {
  console.log(`$ ${display}`);
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  console.log(`HTTP ${res.status} ${res.headers.get('content-type') ?? ''}`);
  console.log((await res.text()).trimEnd());
  console.log();
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

async function main(): Promise<void> {
  const backend = await startRouteGuideServer({ name: 'backend-a' });
  const listen = `127.0.0.1:${await freePort()}`;
  const base = `http://${listen}`;
  const command = `switchyard --listen ${listen} --upstream ${backend.address} --gateway --proto ${API_PROTO} --proto-path ${PROTOS_DIR}`;
  console.log(`$ ${command}\n`);
  const proxy = await startProxy([
    '--listen',
    listen,
    '--upstream',
    backend.address,
    '--gateway',
    '--proto',
    API_PROTO,
    '--proto-path',
    PROTOS_DIR,
  ]);
  try {
    const { latitude: lat, longitude: lon } = GRID_ORIGIN;
    await curl(`curl ${base}/v1/features/${lat}/${lon}`, `${base}/v1/features/${lat}/${lon}`);
    const box = `lo.latitude=${lat}&lo.longitude=${lon}&hi.latitude=${lat + GRID_STEP}&hi.longitude=${lon + GRID_STEP}`;
    await curl(`curl -N '${base}/v1/features?${box}'`, `${base}/v1/features?${box}`);
    const route = [0, 1, 2]
      .map((i) => JSON.stringify({ latitude: lat + i * GRID_STEP, longitude: lon }))
      .join('\n');
    await curl(
      `curl -X POST ${base}/v1/routes:record --data-binary $'${route.replaceAll('\n', '\\n')}'`,
      `${base}/v1/routes:record`,
      { method: 'POST', body: route, headers: { 'content-type': 'application/x-ndjson' } },
    );

    // gRPC-Web as a browser library sends it: one framed Point, the answer framed, trailers last.
    const pool = loadProtos({ files: [API_PROTO], importPaths: [PROTOS_DIR] });
    const Point = pool.registry.getMessage('routeguide.Point')!;
    const Feature = pool.registry.getMessage('routeguide.Feature')!;
    console.log(
      `$ # gRPC-Web: POST ${base}/routeguide.RouteGuide/GetFeature (application/grpc-web+proto)`,
    );
    const res = await fetch(`${base}/routeguide.RouteGuide/GetFeature`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
      body: frame(toBinary(Point, create(Point, { latitude: lat, longitude: lon }))),
      signal: AbortSignal.timeout(5_000),
    });
    const body = Buffer.from(await res.arrayBuffer());
    console.log(`HTTP ${res.status} ${res.headers.get('content-type') ?? ''}`);
    for (let at = 0; at < body.length;) {
      const length = body.readUInt32BE(at + 1);
      const payload = body.subarray(at + 5, at + 5 + length);
      if (body[at] === 0x80) console.log(`trailers frame: ${JSON.stringify(payload.toString())}`);
      else console.log(`message: ${toJsonString(Feature, fromBinary(Feature, payload))}`);
      at += 5 + length;
    }
    console.log();

    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    console.log(`$ curl ${base}/openapi.json   # OpenAPI 3.1, paths:`);
    console.log(Object.keys(openapi.paths).join('\n'));
  } finally {
    await stopProxy(proxy);
    backend.kill();
  }
}

const deadline = setTimeout(() => {
  console.error(`demo:gateway: not done after ${DEADLINE_MS / 1000} s, giving up`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();
main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
