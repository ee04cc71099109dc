// Steady mixed gRPC load from real @grpc/grpc-js clients: unary calls, server, client and bidi
// streams, some cancelled part-way and some under deadlines too short to make, from a few
// channels that are replaced now and then (so connections come and go too). Every call's
// outcome and latency is recorded by the time it ended.
import * as grpc from '@grpc/grpc-js';
import { createRouteGuideClient, type RouteGuideClient } from '../examples/route-guide/client.js';

export interface CallOutcome {
  /** When the call ended (performance.now()). */
  readonly at: number;
  readonly ms: number;
  /** The gRPC status name, or CANCELLED_BY_CLIENT for the calls this driver cancels. */
  readonly status: string;
  /** False for a failure the driver did not ask for. */
  readonly ok: boolean;
  /** The status details of such a failure. */
  readonly details?: string;
}

export interface LoadOptions {
  readonly target: string;
  /** Calls in flight at once. */
  readonly concurrency: number;
  /** Channels the calls share; one is replaced every `churnMs`. */
  readonly channels: number;
  readonly churnMs: number;
  /**
   * The mix: 'mixed' cancels some calls and gives some an impossible deadline (soak); 'steady'
   * makes only calls that should succeed (chaos, where every failure is the fault's).
   */
  readonly mix: 'mixed' | 'steady';
  /** Deadline of the calls meant to succeed. */
  readonly deadlineMs: number;
}

const WORLD = {
  lo: { latitude: -900_000_000, longitude: -1_800_000_000 },
  hi: { latitude: 900_000_000, longitude: 1_800_000_000 },
};
const point = (i: number) => ({ latitude: 400_000_000 + i, longitude: -740_000_000 - i });

export class GrpcLoad {
  readonly outcomes: CallOutcome[] = [];
  private readonly clients: RouteGuideClient[] = [];
  private running = true;
  private counter = 0;
  private readonly churnTimer: NodeJS.Timeout;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly options: LoadOptions) {
    for (let i = 0; i < options.channels; i++) this.clients.push(this.newClient());
    this.churnTimer = setInterval(() => {
      const i = this.counter % this.clients.length;
      const old = this.clients[i];
      this.clients[i] = this.newClient();
      // Closed once every call on it has ended (its deadline has passed): grpc-js fails a call
      // still waiting for a connection on a closed channel with UNAVAILABLE.
      setTimeout(() => old.close(), options.deadlineMs + 1_000).unref();
    }, options.churnMs);
    for (let i = 0; i < options.concurrency; i++) this.loops.push(this.loop());
  }

  /** Stops starting calls and resolves once those in flight have ended. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.churnTimer);
    await Promise.all(this.loops);
    for (const c of this.clients) c.close();
  }

  private newClient(): RouteGuideClient {
    return createRouteGuideClient(this.options.target, grpc.credentials.createInsecure(), {
      // A new channel each time, never one grpc-js shares from its subchannel pool.
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const n = this.counter++;
      const client = this.clients[n % this.clients.length];
      const started = performance.now();
      const { status, expected, details } = await this.call(client, n);
      const ended = performance.now();
      this.outcomes.push({
        at: ended,
        ms: ended - started,
        status,
        ok: expected,
        ...(expected ? {} : { details }),
      });
    }
  }

  /** One call of kind n % 8; resolves with its status and whether that status was the plan. */
  private call(
    client: RouteGuideClient,
    n: number,
  ): Promise<{ status: string; expected: boolean; details?: string }> {
    const mixed = this.options.mix === 'mixed';
    const deadline = () => new Date(Date.now() + this.options.deadlineMs);
    return new Promise((resolve) => {
      const done = (err: grpc.ServiceError | null | undefined, planned?: grpc.status) => {
        const code = err ? err.code : grpc.status.OK;
        resolve({
          status:
            planned === grpc.status.CANCELLED && code === planned
              ? 'CANCELLED_BY_CLIENT'
              : grpc.status[code],
          // A call meant to be cancelled may finish first: that is fine too.
          expected:
            code === (planned ?? grpc.status.OK) ||
            (planned === grpc.status.CANCELLED && code === grpc.status.OK),
          details: err?.details,
        });
      };
      const kind = mixed ? n % 8 : n % 4;
      switch (kind) {
        case 0:
          client.GetFeature(point(n), new grpc.Metadata(), { deadline: deadline() }, (err) =>
            done(err),
          );
          return;
        case 1: {
          const stream = client.ListFeatures(WORLD, new grpc.Metadata(), { deadline: deadline() });
          stream.on('data', () => {});
          stream.on('error', (err: grpc.ServiceError) => done(err));
          stream.on('end', () => done(null));
          return;
        }
        case 2: {
          const stream = client.RecordRoute(new grpc.Metadata(), { deadline: deadline() }, (err) =>
            done(err),
          );
          for (let i = 0; i < 5; i++) stream.write(point(n + i));
          stream.end();
          return;
        }
        case 3: {
          const stream = client.RouteChat(new grpc.Metadata(), { deadline: deadline() });
          stream.on('data', () => {});
          stream.on('error', (err: grpc.ServiceError) => done(err));
          stream.on('end', () => done(null));
          for (let i = 0; i < 3; i++)
            stream.write({ location: point(n % 10), message: `note ${n}` });
          stream.end();
          return;
        }
        case 4: {
          // A server stream cancelled after its first message.
          const stream = client.ListFeatures(WORLD, new grpc.Metadata(), { deadline: deadline() });
          stream.once('data', () => stream.cancel());
          stream.on('error', (err: grpc.ServiceError) => done(err, grpc.status.CANCELLED));
          stream.on('end', () => done(null, grpc.status.CANCELLED));
          return;
        }
        case 5: {
          // A bidi stream cancelled while both sides are still open.
          const stream = client.RouteChat(new grpc.Metadata(), { deadline: deadline() });
          stream.on('error', (err: grpc.ServiceError) => done(err, grpc.status.CANCELLED));
          stream.on('end', () => done(null, grpc.status.CANCELLED));
          // RouteChat answers only with notes sent earlier to the same place: no answer to
          // wait for, so the cancel comes once the first note is on its way.
          stream.write({ location: point(n), message: 'hello' }, () => stream.cancel());
          return;
        }
        case 6: {
          // A deadline shorter than the backend's delay: DEADLINE_EXCEEDED, through the proxy.
          const tight = new Date(Date.now() + 1);
          client.GetFeature(point(n), new grpc.Metadata(), { deadline: tight }, (err) =>
            done(err, grpc.status.DEADLINE_EXCEEDED),
          );
          return;
        }
        default: {
          // A unary call cancelled before its answer.
          const call = client.GetFeature(
            point(n),
            new grpc.Metadata(),
            { deadline: deadline() },
            (err) => done(err, grpc.status.CANCELLED),
          );
          setImmediate(() => call.cancel());
          return;
        }
      }
    });
  }
}

/** The p-th percentile (0-100) of `values` (sorted in place). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
}
