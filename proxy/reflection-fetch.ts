// Reflection calls to one endpoint over the cluster's own endpoint pool: the same HTTP/2
// sessions, TLS, dialer and upstream proxy tunnel as proxied calls, so reflection reaches the
// backend exactly as traffic does, and the proxy binary loads no second gRPC stack. A call
// goes to one named endpoint rather than through the balancer, because the point is to compare
// what each endpoint serves.
import { Status } from '../grpc/grpc-status.js';
import { fieldValue, type HeaderFields } from '../transport/header-fields.js';
import { StreamOutcome, type UpstreamHandler, type UpstreamStream } from '../transport/upstream.js';
import { frameMessage, MessageDeframer } from '../gateway/grpc-frames.js';
import type { ReflectionCall, ReflectionReply } from '../gateway/reflection-client.js';
import { decodeGrpcMessage } from '../gateway/status-json.js';
import type { EndpointPool } from '../upstream/endpoint-pool.js';
import type { Clock } from '../common/clock.js';

/** How often to look for a ready session while the endpoint connects. */
const READY_POLL_MS = 25;

export function endpointReflectionCall(
  pool: EndpointPool,
  timeoutMs: number,
  clock: Clock,
): ReflectionCall {
  return (path, request) =>
    new Promise<ReflectionReply>((resolve) => {
      const deadline = clock.now() + timeoutMs;
      const messages: Uint8Array[] = [];
      const deframer = new MessageDeframer();
      let settled = false;
      let stream: UpstreamStream | undefined;
      let timer = clock.setTimeout(() => finish(Status.DEADLINE_EXCEEDED, 'timed out'), timeoutMs);
      const finish = (code: number, message: string): void => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        if (stream?.open === true) stream.cancel();
        resolve({ code, message, messages });
      };
      const statusOf = (fields: HeaderFields): void => {
        const code = Number(fieldValue(fields, 'grpc-status') ?? Status.UNKNOWN);
        finish(code, decodeGrpcMessage(fieldValue(fields, 'grpc-message')));
      };
      const handler: UpstreamHandler = {
        onHeaders(_s, fields, endStream) {
          if (endStream) statusOf(fields);
          else if (fieldValue(fields, ':status') !== '200') {
            finish(Status.UNKNOWN, `HTTP status ${fieldValue(fields, ':status') ?? '?'}`);
          }
        },
        onData(_s, chunk) {
          const problem = deframer.push(chunk, (m) => messages.push(Uint8Array.from(m)));
          if (problem !== null) finish(Status.INTERNAL, problem);
        },
        onTrailers(_s, fields) {
          statusOf(fields);
        },
        onEnd() {
          finish(Status.INTERNAL, 'the stream ended without a status');
        },
        onDrain() {},
        onClose(_s, outcome, code, error) {
          const why =
            outcome === StreamOutcome.REFUSED
              ? 'refused'
              : `reset (code ${code})${error ? `: ${error.message}` : ''}`;
          finish(Status.UNAVAILABLE, `the stream was ${why}`);
        },
      };
      const send = (): void => {
        if (settled) return;
        pool.start();
        const session = pool.acquire();
        if (session === null) {
          if (clock.now() + READY_POLL_MS >= deadline) {
            finish(
              Status.UNAVAILABLE,
              `no connection to ${pool.authority}: ${pool.sessionError?.message ?? pool.connectivity}`,
            );
            return;
          }
          clock.clearTimeout(timer);
          timer = clock.setTimeout(() => {
            timer = clock.setTimeout(
              () => finish(Status.DEADLINE_EXCEEDED, 'timed out'),
              Math.max(1, deadline - clock.now()),
            );
            send();
          }, READY_POLL_MS);
          return;
        }
        const fields: HeaderFields = [
          ':method',
          'POST',
          ':scheme',
          pool.scheme,
          ':path',
          path,
          ':authority',
          pool.authority,
          'content-type',
          'application/grpc',
          'te',
          'trailers',
          'grpc-accept-encoding',
          'identity',
        ];
        const opened = session.open(fields, handler);
        if (opened === null || opened instanceof Error) {
          finish(
            Status.UNAVAILABLE,
            opened === null ? 'the connection refused a stream' : opened.message,
          );
          return;
        }
        stream = opened;
        opened.write(frameMessage(request));
        opened.end();
      };
      send();
    });
}
