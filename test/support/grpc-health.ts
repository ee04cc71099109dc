// The standard gRPC health service (grpc.health.v1.Health/Check) for tests, over @grpc/grpc-js:
// a server-side implementation whose statuses a test can flip, and a HealthProbe client that
// the balancer's health checker can use against real servers. The two messages are tiny, so
// they are encoded by hand (HealthCheckRequest { string service = 1; },
// HealthCheckResponse { ServingStatus status = 1; }).
import * as grpc from '@grpc/grpc-js';
import type { HealthProbe, HealthProbeResult } from '../../balancer/health-checker.js';
import type { Host } from '../../balancer/host.js';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
const STATUS_NUMBERS: Record<ServingStatus, number> = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
};

function writeVarint(out: number[], value: number): void {
  let v = value >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function readVarint(buf: Buffer, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  while (pos < buf.length) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, pos];
    shift += 7;
  }
  throw new Error('truncated varint');
}

/** Field 1 of a message: a string (request) or varint (response); other fields skipped. */
function readField1(buf: Buffer): string | number | undefined {
  let pos = 0;
  let found: string | number | undefined;
  while (pos < buf.length) {
    const [tag, afterTag] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const [value, next] = readVarint(buf, afterTag);
      if (field === 1) found = value;
      pos = next;
    } else if (wire === 2) {
      const [length, start] = readVarint(buf, afterTag);
      if (field === 1) found = buf.subarray(start, start + length).toString('utf8');
      pos = start + length;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return found;
}

export function encodeRequest(service: string): Buffer {
  const bytes = Buffer.from(service, 'utf8');
  if (bytes.length === 0) return Buffer.alloc(0);
  const out: number[] = [0x0a];
  writeVarint(out, bytes.length);
  return Buffer.concat([Buffer.from(out), bytes]);
}

export function decodeRequest(buf: Buffer): string {
  const service = readField1(buf);
  return typeof service === 'string' ? service : '';
}

export function encodeResponse(status: ServingStatus): Buffer {
  const n = STATUS_NUMBERS[status];
  if (n === 0) return Buffer.alloc(0);
  const out: number[] = [0x08];
  writeVarint(out, n);
  return Buffer.from(out);
}

export function decodeResponse(buf: Buffer): ServingStatus {
  const n = readField1(buf);
  const name = (Object.keys(STATUS_NUMBERS) as ServingStatus[]).find(
    (k) => STATUS_NUMBERS[k] === n,
  );
  return name ?? 'UNKNOWN';
}

const identity = (b: Buffer) => b;

export const HEALTH_SERVICE: grpc.ServiceDefinition = {
  Check: {
    path: HEALTH_CHECK_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/**
 * The server side: per-service statuses ("" is the whole server). An unknown service answers
 * NOT_FOUND, as the health protocol specifies for Check.
 */
export class HealthStatusTable {
  private readonly statuses = new Map<string, ServingStatus>([['', 'SERVING']]);
  checks = 0;

  set(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
  }

  addTo(server: grpc.Server): void {
    server.addService(HEALTH_SERVICE, {
      Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        this.checks++;
        const status = this.statuses.get(decodeRequest(call.request));
        if (status === undefined) {
          callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
        } else {
          callback(null, encodeResponse(status));
        }
      },
    });
  }
}

/**
 * The client side: a `HealthProbe` that calls Check over one grpc-js client per endpoint.
 * (The proxy has its own probe over its upstream sessions; this one is for tests.)
 */
export class GrpcJsHealthProbe implements HealthProbe {
  private readonly clients = new Map<string, grpc.Client>();

  check(
    host: Host,
    service: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<HealthProbeResult> {
    let client = this.clients.get(host.key);
    if (!client) {
      client = new grpc.Client(host.key, grpc.credentials.createInsecure());
      this.clients.set(host.key, client);
    }
    const c = client;
    return new Promise((resolve) => {
      const call = c.makeUnaryRequest(
        HEALTH_CHECK_PATH,
        identity,
        identity,
        encodeRequest(service),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          signal.removeEventListener('abort', onAbort);
          if (error) {
            if (error.code === grpc.status.NOT_FOUND) resolve({ status: 'service_unknown' });
            else if (error.code === grpc.status.UNIMPLEMENTED)
              resolve({
                status: 'failed',
                reason: 'the endpoint has no health service (UNIMPLEMENTED)',
              });
            else
              resolve({ status: 'failed', reason: `${grpc.status[error.code]}: ${error.details}` });
            return;
          }
          const status = decodeResponse(response ?? Buffer.alloc(0));
          if (status === 'SERVING') resolve({ status: 'serving' });
          else if (status === 'SERVICE_UNKNOWN') resolve({ status: 'service_unknown' });
          else resolve({ status: 'not_serving' });
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** Starts a grpc-js server on 127.0.0.1:0 with the given setup; returns it and its port. */
export async function startGrpcServer(
  setup: (server: grpc.Server) => void,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  setup(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  return { server, port };
}

/** Stops a server, cutting calls still running after a short grace. */
export function stopGrpcServer(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.forceShutdown(), 1_000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
