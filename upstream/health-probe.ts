// The balancer's health probe, over the proxy's own upstream sessions: one
// grpc.health.v1.Health/Check call per check, encoded by hand (two one-field messages).
import type { HealthProbe, HealthProbeResult } from '../balancer/health-checker.js';
import type { Host } from '../balancer/host.js';
import type { EndpointPool } from './endpoint-pool.js';
import { describeError } from '../common/errors.js';
import { formatGrpcTimeout } from '../grpc/grpc-timeout.js';
import { Status } from '../grpc/grpc-status.js';
import { fieldValue, type HeaderFields } from '../transport/header-fields.js';
import type { StreamOutcome, UpstreamHandler, UpstreamStream } from '../transport/upstream.js';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** A gRPC-framed HealthCheckRequest { string service = 1; }. */
export function encodeHealthRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  // Field 1, wire type 2, then a varint length: names stay far below 2^14 bytes.
  const header =
    name.length === 0
      ? []
      : name.length < 0x80
        ? [0x0a, name.length]
        : [0x0a, (name.length & 0x7f) | 0x80, name.length >> 7];
  const body = Buffer.concat([Buffer.from(header), name]);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** The ServingStatus in a gRPC-framed HealthCheckResponse { ServingStatus status = 1; }. */
export function decodeHealthResponse(frame: Buffer): number | undefined {
  if (frame.length < 5) return undefined;
  const length = frame.readUInt32BE(1);
  const msg = frame.subarray(5, 5 + length);
  let pos = 0;
  let status = 0; // proto3 default: UNKNOWN
  while (pos < msg.length) {
    const tag = msg[pos++];
    const wire = tag & 7;
    let value = 0;
    let shift = 0;
    if (wire === 0) {
      for (;;) {
        if (pos >= msg.length) return undefined;
        const b = msg[pos++];
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) break;
      }
      if (tag >> 3 === 1) status = value;
    } else if (wire === 2) {
      const len = msg[pos++];
      pos += len;
    } else {
      return undefined;
    }
  }
  return status;
}

export class GrpcHealthProbe implements HealthProbe {
  constructor(
    private readonly poolOf: (host: Host) => EndpointPool | undefined,
    /** `:authority` for checks; the endpoint's address when undefined. */
    private readonly authority: string | undefined,
  ) {}

  check(
    host: Host,
    service: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<HealthProbeResult> {
    const session = this.poolOf(host)?.acquire();
    if (!session) return Promise.resolve({ status: 'failed', reason: 'no ready session' });
    return new Promise((resolve) => {
      const headers: HeaderFields = [
        ':method',
        'POST',
        ':path',
        HEALTH_CHECK_PATH,
        ':scheme',
        session.pool.scheme,
        ':authority',
        this.authority ?? session.pool.authority,
        'content-type',
        'application/grpc',
        'te',
        'trailers',
        'grpc-timeout',
        formatGrpcTimeout(timeoutMs),
      ];
      const check = new HealthCheck(resolve);
      const stream = session.open(headers, check);
      if (stream === null || stream instanceof Error) {
        resolve({ status: 'failed', reason: stream ? describeError(stream) : 'session closing' });
        return;
      }
      if (signal.aborted) stream.cancel();
      else signal.addEventListener('abort', () => stream.cancel(), { once: true });
      stream.write(encodeHealthRequest(service));
      stream.end();
    });
  }
}

/** One health check's stream: collects the answer, then says what it means. */
class HealthCheck implements UpstreamHandler {
  private readonly chunks: Buffer[] = [];
  private grpcStatus: string | undefined;

  constructor(private readonly resolve: (result: HealthProbeResult) => void) {}

  onHeaders(_stream: UpstreamStream, fields: HeaderFields): void {
    const status = fieldValue(fields, 'grpc-status');
    if (status !== undefined) this.grpcStatus = status;
  }

  onData(_stream: UpstreamStream, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onTrailers(_stream: UpstreamStream, fields: HeaderFields): void {
    this.grpcStatus = String(fieldValue(fields, 'grpc-status'));
  }

  onEnd(): void {}

  onDrain(): void {}

  onClose(_stream: UpstreamStream, _outcome: StreamOutcome, code: number): void {
    const grpcStatus = this.grpcStatus;
    const resolve = this.resolve;
    if (grpcStatus === undefined) {
      resolve({
        status: 'failed',
        reason: `check ended without a status (${code === 0 ? 'no reset' : code})`,
      });
    } else if (grpcStatus === String(Status.UNIMPLEMENTED)) {
      resolve({ status: 'failed', reason: 'the endpoint has no grpc.health.v1.Health service' });
    } else if (grpcStatus === String(Status.NOT_FOUND)) {
      resolve({ status: 'service_unknown' });
    } else if (grpcStatus !== '0') {
      resolve({ status: 'failed', reason: `health check answered grpc-status ${grpcStatus}` });
    } else {
      const serving = decodeHealthResponse(Buffer.concat(this.chunks));
      if (serving === 1) resolve({ status: 'serving' });
      else if (serving === 3) resolve({ status: 'service_unknown' });
      else if (serving === undefined)
        resolve({ status: 'failed', reason: 'malformed HealthCheckResponse' });
      else resolve({ status: 'not_serving' });
    }
  }
}
