// The access log: one JSON line per call (or per sampled call), written by pino through an
// asynchronous destination (stdout, stderr or a file) that is flushed on close.
import { open } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { pino, type Logger as PinoLogger } from 'pino';
import type { AccessLogConfig } from '../config/types.js';
import type { CallObserver, CallRecord } from '../proxy/call-record.js';
import type { PeerIdentity } from '../common/peer-identity.js';
import { SwitchyardError, describeError } from '../common/errors.js';
import { statusName } from '../grpc/grpc-status.js';
import type { Logger } from '../common/log.js';

type Destination = ReturnType<typeof pino.destination>;

const openFile = promisify(open);

/**
 * One line, as written (JSON, one per line). Fields the call did not have are left out:
 * `endpoint` when no endpoint took the call, `peer` when the client's address was gone,
 * `peerIdentity` when the client presented no certificate the listener verified, `message` when
 * the status came from the endpoint rather than from the proxy.
 */
export interface AccessLogLine {
  /** Always `access`. */
  readonly log: 'access';
  /** When the call ended (ISO 8601, UTC). */
  readonly time: string;
  /** The client, `address:port`. */
  readonly peer?: string;
  /** The client certificate's verified identity (mutual TLS listeners). */
  readonly peerIdentity?: PeerIdentity;
  /** The gRPC method, `/package.Service/Method`. */
  readonly method: string;
  readonly route: string;
  readonly cluster: string;
  /** The endpoint the call went to, `address:port`. */
  readonly endpoint?: string;
  /** gRPC status code and its name (`0`, `OK`). */
  readonly status: number;
  readonly statusName: string;
  /** From the request headers to the status, in ms (µs precision). */
  readonly durationMs: number;
  /** Request and response bytes (gRPC messages with their 5-byte prefixes). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Why the proxy ended the call with this status, when the proxy made it. */
  readonly message?: string;
  /**
   * Attempts the call took, transparent retries and retryPolicy ones included, and the
   * endpoints they went to (`a:1,b:2`); only when it took more than one.
   */
  readonly attempts?: number;
  readonly hostsTried?: string;
}

interface Peer {
  readonly address: string;
  readonly identity: PeerIdentity | undefined;
}

export interface AccessLogOptions {
  /** Source of randomness for sampling (tests inject a sequence). */
  readonly random?: () => number;
}

/** Destinations that are not files: nothing to create, nothing to reopen. */
const STANDARD_STREAMS: ReadonlySet<string> = new Set(['stdout', 'stderr']);

/**
 * Opens a destination, so a bad path fails here rather than on the first line. The file is
 * opened before pino's stream exists: a stream whose open failed would stay registered for a
 * flush at exit and throw there.
 */
async function openDestination(destination: string): Promise<Destination> {
  let fd: number;
  if (destination === 'stdout') fd = 1;
  else if (destination === 'stderr') fd = 2;
  else {
    try {
      await mkdir(dirname(destination), { recursive: true });
      fd = await openFile(destination, 'a');
    } catch (err) {
      throw accessLogError(destination, err);
    }
  }
  const stream = pino.destination({ dest: fd, sync: false });
  // With a descriptor the stream is ready on the next tick; writes before that are buffered.
  await new Promise((resolve) => stream.once('ready', resolve));
  return stream;
}

function accessLogError(destination: string, err: unknown): SwitchyardError {
  return new SwitchyardError(
    'SWY_ERR_CONFIG',
    `cannot open the access log ${destination}: ${describeError(err)}`,
    { cause: err },
  );
}

/** Ends a destination after what it holds is written; stdout and stderr stay open. */
function closeDestination(stream: Destination): Promise<void> {
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
    stream.end();
  });
}

export class AccessLog implements CallObserver {
  private sample: number;
  private destination: string;
  private stream: Destination | undefined;
  private writer: PinoLogger | undefined;
  /**
   * Sampled calls in flight, with their client's address and certificate identity (read while
   * the session lives).
   */
  private readonly pending = new Map<CallRecord, Peer>();
  /** Client addresses by session: a connection carries many calls. */
  private readonly random: () => number;
  private closed = false;

  private constructor(
    config: AccessLogConfig,
    private readonly logger: Logger,
    options: AccessLogOptions,
  ) {
    this.sample = config.sample;
    this.destination = config.destination;
    this.random = options.random ?? Math.random;
  }

  /**
   * Opens the destination when `sample` > 0 (an access log that is off opens nothing);
   * rejects with SWY_ERR_CONFIG when it cannot be opened.
   */
  static async open(
    config: AccessLogConfig,
    logger: Logger,
    options: AccessLogOptions = {},
  ): Promise<AccessLog> {
    const log = new AccessLog(config, logger, options);
    if (config.sample > 0) log.attach(await openDestination(config.destination));
    return log;
  }

  /**
   * Applies a new sample share and destination. A new destination is opened before the old
   * one is flushed and closed, so a bad path leaves the log as it was (and rejects).
   */
  async reconfigure(config: AccessLogConfig): Promise<void> {
    if (this.closed) return;
    const wanted = config.sample > 0;
    const reopen = wanted && (this.stream === undefined || config.destination !== this.destination);
    const next = reopen ? await openDestination(config.destination) : undefined;
    if (this.closed) {
      if (next) await closeDestination(next);
      return;
    }
    const old = reopen || !wanted ? this.stream : undefined;
    if (next) this.attach(next);
    else if (!wanted) this.detach();
    this.sample = config.sample;
    this.destination = config.destination;
    if (old) await closeDestination(old);
  }

  /**
   * Opens a file destination again by its path. After a log rotation renamed the file, later
   * lines go to a new file of that name, and the renamed one keeps everything written before (it
   * is flushed, then closed). stdout, stderr and a log that is off have nothing to reopen. A file
   * that cannot be opened leaves the log writing where it was, and rejects.
   */
  async reopen(): Promise<void> {
    const old = this.stream;
    if (this.closed || old === undefined || STANDARD_STREAMS.has(this.destination)) return;
    const next = await openDestination(this.destination);
    if (this.closed || this.stream !== old) {
      // Closed or moved meanwhile: this one is not wanted.
      await closeDestination(next);
      return;
    }
    this.attach(next);
    await closeDestination(old);
  }

  callStarted(call: CallRecord): void {
    // Decided before anything is built: off and sampled-out calls cost one comparison.
    const sample = this.sample;
    if (sample <= 0 || (sample < 1 && this.random() >= sample)) return;
    this.pending.set(call, { address: call.peer(), identity: call.peerIdentity?.() });
  }

  callEnded(call: CallRecord): void {
    if (this.pending.size === 0) return;
    const peer = this.pending.get(call);
    if (peer === undefined) return;
    this.pending.delete(call);
    const writer = this.writer;
    if (writer === undefined) return;
    const line: {
      -readonly [K in keyof Omit<AccessLogLine, 'log' | 'time' | 'message'>]: AccessLogLine[K];
    } = {
      peer: peer.address === '' ? undefined : peer.address,
      peerIdentity: peer.identity,
      method: call.path,
      route: call.context.routeName,
      cluster: call.context.cluster.name,
      endpoint: call.host?.key,
      status: call.status,
      statusName: statusName(call.status),
      durationMs: Math.round((call.endedAt - call.startedAt) * 1000) / 1000,
      bytesIn: call.bytesIn,
      bytesOut: call.bytesOut,
    };
    const attempts = 1 + call.attempts + call.retries;
    if (attempts > 1) {
      line.attempts = attempts;
      line.hostsTried = call.hostsTried();
    }
    if (call.message === '') writer.info(line);
    else writer.info(line, call.message);
  }

  /** Flushes and closes the destination; later calls are not logged. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sample = 0;
    const stream = this.stream;
    this.detach();
    if (stream) await closeDestination(stream);
  }

  private attach(stream: Destination): void {
    stream.on('error', (err: Error) => {
      this.logger.error(`access log ${this.destination}: ${describeError(err)}`);
    });
    this.stream = stream;
    this.writer = pino(
      {
        base: undefined,
        messageKey: 'message',
        timestamp: pino.stdTimeFunctions.isoTime,
        // Every line is the same kind of record, so a level would say nothing; this tag tells
        // access lines from the proxy's own when both go to one stream.
        formatters: { level: () => ({ log: 'access' }) },
      },
      stream,
    );
  }

  private detach(): void {
    this.stream = undefined;
    this.writer = undefined;
    this.pending.clear();
  }
}
