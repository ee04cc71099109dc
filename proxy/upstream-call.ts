// The upstream half of a proxied call, free of any transport: picks an endpoint, sends the
// request with a replay buffer for transparent retries, enforces the deadline, and turns what
// the upstream answered (or how its stream ended) into what the client gets. The client side
// is the subclass's (proxy/call.ts over node:http2), reached through a few abstract methods.
import type { Host } from '../balancer/host.js';
import type { Cluster, WaitingCall } from '../upstream/cluster.js';
import type { CallLimits, RetryDenial, RetryReason } from '../upstream/call-limits.js';
import type { CallPolicies } from '../upstream/service-config-policies.js';
import type { HedgingPolicyConfig, RetryPolicyConfig } from '../config/types.js';
import { cancelUpstream, type UpstreamSession } from '../upstream/endpoint-pool.js';
import type { Clock, TimerHandle } from '../common/clock.js';
import { describeError } from '../common/errors.js';
import { TRACE } from '../common/trace.js';
import { ErrorCode } from '../h2/frames/constants.js';
import { formatGrpcTimeout } from '../grpc/grpc-timeout.js';
import { INVALID_FIELDS, headerFieldsSize, invalidFieldReason } from '../grpc/header-fields.js';
import {
  Status,
  encodeGrpcMessage,
  isEndpointFailure,
  rstCodeName,
  statusFromHttpStatus,
  statusFromRstCode,
} from '../grpc/grpc-status.js';
import { fieldValue, headerMap, setField, type HeaderFields } from '../transport/header-fields.js';
import { StreamOutcome, type UpstreamHandler, type UpstreamStream } from '../transport/upstream.js';

/** Request bytes kept for a transparent retry; larger requests are not retried. */
export const MAX_REPLAY_BYTES = 64 * 1024;
/**
 * Request bytes a call with a retry policy keeps to send again, and what all calls together
 * keep: grpc-js's per-RPC and per-channel retry buffers (1 MiB and 16 MiB). A request that
 * outgrows either commits its call: it goes on, but is not sent again.
 */
export const MAX_RETRY_REPLAY_BYTES = 1024 * 1024;
export const MAX_REPLAY_HELD_BYTES = 16 * 1024 * 1024;
/** Request bytes all calls of this process keep for replays now. */
let replayHeldBytes = 0;
export function replayBytesHeld(): number {
  return replayHeldBytes;
}
/** What a `grpc-previous-rpc-attempts` field adds to a header block (26 + up to 2 + 32). */
const PREVIOUS_ATTEMPTS_FIELD_BYTES = 60;
/** The longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 0x7fffffff;
/** Below MAX_TIMER_MS even after rounding up to whole seconds, as long timeouts are sent. */
const MAX_FORWARDED_TIMEOUT_MS = 2_000_000_000;
/** Attempts on different endpoints before a call that never reached one fails. */
export const MAX_ATTEMPTS = 5;
/** The most a `grpc-timeout` field the proxy sets adds to a header block (12 + 8 + 32). */
const GRPC_TIMEOUT_FIELD_BYTES = 52;

/**
 * Where the call got to upstream, as grpc-js names it (RpcProgress): whether it may still go
 * to another endpoint is this state, not something read back from the transport.
 */
export const CallProgress = {
  /** No attempt has reached an upstream yet. */
  NOT_STARTED: 0,
  /** The last attempt was refused before the upstream processed it: safe to send elsewhere. */
  REFUSED: 1,
  /** An upstream answered or may have processed the call: it is not sent again. */
  PROCESSED: 2,
} as const;
export type CallProgress = (typeof CallProgress)[keyof typeof CallProgress];

/** What a call needs from its route that is the same for every call of the route. */
export interface UpstreamCallContext {
  readonly cluster: Cluster;
  /** The route's own A6 policies; undefined: the cluster's (or its resolver's) for the path. */
  readonly policies?: CallPolicies;
  /** `:authority` sent upstream instead of the client's, if set. */
  readonly authority: string | undefined;
  /** Time for deadlines and latencies. */
  readonly clock: Clock;
}

/**
 * The copies a hedged call sent beside the attempt in `upstream`, each with its session, host
 * and start time; made only for calls of a cluster with a hedging policy.
 */
class Hedges {
  readonly streams: UpstreamStream[] = [];
  readonly sessions: UpstreamSession[] = [];
  readonly hosts: Host[] = [];
  readonly startedAt: number[] = [];
  /** Copies sent, the first attempt included. */
  sent = 1;
  /** The delay passed while the request was still arriving: the next copy goes when it ends. */
  due = false;
}

export abstract class UpstreamCall implements WaitingCall, UpstreamHandler {
  /** Set once the call ended upstream-side (status known, balancer told). */
  done = false;
  /** Final gRPC status (-1 until known) and, for statuses the proxy made, its message. */
  status = -1;
  message = '';
  host: Host | null = null;
  bytesIn = 0;
  bytesOut = 0;
  readonly startedAt: number;
  endedAt = 0;
  progress: CallProgress = CallProgress.NOT_STARTED;
  /** Attempts that did not reach an endpoint (refused, or no connection could take them). */
  attempts = 0;
  /** Attempts the retry policy sent again after a failure (A6's retries). */
  retries = 0;
  /** The upstream's trailers, or the status the proxy made, once known. */
  protected trailers: HeaderFields | null = null;

  private session: UpstreamSession | null = null;
  private upstream: UpstreamStream | null = null;
  /** Endpoints earlier attempts failed on; a retry goes elsewhere when it can. */
  private avoid: Set<Host> | null = null;
  private attemptStartedAt = 0;
  private waiting = false;
  /** The cluster attempts go to: the route's, or the one a reload replaced it with. */
  private cluster: Cluster;
  private timer: TimerHandle | undefined = undefined;
  private trailersOnly = false;
  /** END_STREAM from the upstream was read (its whole answer is in). */
  private upstreamEnded = false;
  private requestEnded = false;
  private reading = false;
  /**
   * Request chunks sent so far, kept until the upstream answers, for a transparent retry: the
   * first in `replayHead` (unary calls need no array), more in `replayRest`. `replayBytes`
   * is -1 once the request outgrew MAX_REPLAY_BYTES or the upstream answered.
   */
  private replayHead: Buffer | null = null;
  private replayRest: Buffer[] | null = null;
  private replayBytes = 0;
  private replayLimit = MAX_REPLAY_BYTES;
  /** Response headers (or a status) went to the client: the call is committed. */
  private committed = false;
  /** The A6 policies the call runs under, chosen when it is sent. */
  private retryPolicy: RetryPolicyConfig | undefined = undefined;
  private hedgingPolicy: HedgingPolicyConfig | undefined = undefined;
  /** The cluster whose limits counted this call, until it ends. */
  private limits: CallLimits | null = null;
  /** The call is counted among its cluster's retrying calls. */
  private retrying = false;
  /** The backoff before the next retry, or the running attempt's per-try timeout. */
  private retryTimer: TimerHandle | undefined = undefined;
  /** The next backoff's upper bound (A6), 0 until the first retry. */
  private backoffMs = 0;
  /** The copies of a hedged call; null without a hedging policy. */
  private hedges: Hedges | null = null;

  /** The request headers by name, made on first use (only ring_hash's header key needs them). */
  private headerLookup: Readonly<Record<string, string | undefined>> | null = null;
  /** The client's own `grpc-previous-rpc-attempts`, read before a retry writes ours. */
  private clientAttempts: string | undefined = undefined;

  constructor(
    /** The client's request header fields; edited in place into the upstream request. */
    private readonly fields: HeaderFields,
    readonly path: string,
    private readonly upstreamContext: UpstreamCallContext,
    /** Milliseconds until the deadline, or undefined for none. */
    readonly timeoutMs: number | undefined,
    /** The request headers' size as a peer's SETTINGS_MAX_HEADER_LIST_SIZE counts it. */
    private headerBytes: number,
  ) {
    this.startedAt = upstreamContext.clock.now();
    this.cluster = upstreamContext.cluster;
  }

  /**
   * PickRequest: the request headers by name. Most policies never look, so the object (a
   * dictionary of ~10 names, about 0.8 KB) is made only when one does.
   */
  get headers(): Readonly<Record<string, string | undefined>> {
    return (this.headerLookup ??= headerMap(this.fields));
  }

  // The client side, implemented by the subclass.

  /** The first attempt went out: start reading request data (forwardRequest, requestEnd). */
  protected abstract startRequest(): void;
  protected abstract pauseRequest(): void;
  protected abstract resumeRequest(): void;
  /** The client's SETTINGS_MAX_HEADER_LIST_SIZE (Infinity when unknown). */
  protected abstract clientHeaderLimit(): number;
  /** Passes response headers on; `endStream`: trailers-only, the whole answer. */
  protected abstract respond(fields: HeaderFields, endStream: boolean): void;
  /** Passes response data on; false when the client is behind (responseDrained follows). */
  protected abstract writeResponse(chunk: Buffer): boolean;
  /** The answer is complete: end the client's stream, with `this.trailers` after the data. */
  protected abstract endResponse(): void;
  /** Ends the client's stream with a status the proxy made. */
  protected abstract respondStatus(code: number, message: string): void;
  /** The call ended (status known); observers may look at it now. */
  protected abstract ended(): void;

  /** Sends the call; the subclass has wired the client side. */
  protected begin(): void {
    const timeoutMs = this.timeoutMs;
    if (timeoutMs !== undefined) {
      if (timeoutMs <= 0) {
        this.fail(Status.DEADLINE_EXCEEDED, 'deadline exceeded before the call was sent', false);
        return;
      }
      // Node fires longer timers after 1 ms; a deadline weeks away needs no timer at all.
      if (timeoutMs <= MAX_TIMER_MS) {
        this.timer = this.upstreamContext.clock.setTimeout(() => this.deadline(), timeoutMs);
      }
    }
    const limits = this.cluster.limits;
    if (limits.activeCalls >= limits.breakers.maxConcurrentCalls) {
      limits.stats.trips.maxConcurrentCalls++;
      this.fail(
        Status.UNAVAILABLE,
        `cluster "${this.cluster.name}" has ${limits.activeCalls} calls in flight, its circuitBreakers.maxConcurrentCalls`,
        false,
      );
      return;
    }
    limits.activeCalls++;
    this.limits = limits;
    const policies = this.upstreamContext.policies ?? this.cluster.policiesFor(this.path);
    this.retryPolicy = policies.retry;
    this.hedgingPolicy = policies.hedging;
    if (policies.retry !== undefined || policies.hedging !== undefined) {
      this.replayLimit = MAX_RETRY_REPLAY_BYTES;
      this.clientAttempts = fieldValue(this.fields, 'grpc-previous-rpc-attempts');
      limits.callStarted(this.startedAt);
      if (policies.retry !== undefined) limits.retryPolicySeen = true;
      if (policies.hedging !== undefined) {
        limits.hedgingPolicySeen = true;
        this.hedges = new Hedges();
      }
    }
    const authority = this.upstreamContext.authority;
    if (authority !== undefined) {
      const replaced = fieldValue(this.fields, ':authority');
      this.headerBytes += authority.length - (replaced === undefined ? -32 : replaced.length);
      setField(this.fields, ':authority', authority);
    }
    this.dispatch();
  }

  /** WaitingCall: an endpoint may have become ready. */
  retryPick(): void {
    this.waiting = false;
    if (!this.done) this.dispatch();
  }

  /** WaitingCall: no endpoint became ready in time. */
  waitExpired(reason: string): void {
    this.waiting = false;
    if (this.followReload()) this.dispatch();
    else this.fail(Status.UNAVAILABLE, reason, false);
  }

  /**
   * A reload replaced the call's cluster: later attempts go to the one that serves its name
   * now (its hosts are others, so none is avoided). False when there is none to go to.
   */
  private followReload(): boolean {
    const live = this.cluster.live();
    if (live === this.cluster) return false;
    this.cluster = live;
    this.avoid = null;
    return true;
  }

  private dispatch(): void {
    this.followReload();
    const cluster = this.cluster;
    while (!this.done) {
      const avoid = this.avoid;
      const host = avoid === null ? cluster.pick(this) : cluster.balancer.pickOther(this, avoid);
      if (host === null) {
        if (cluster.canWait()) {
          const max = cluster.limits.breakers.maxPendingCalls;
          if (cluster.waitingCalls >= max) {
            cluster.limits.stats.trips.maxPendingCalls++;
            this.fail(
              Status.UNAVAILABLE,
              `cluster "${cluster.name}" has ${max} calls waiting for an endpoint, its circuitBreakers.maxPendingCalls`,
              false,
            );
            return;
          }
          this.waiting = true;
          cluster.enqueue(this);
        } else {
          this.fail(Status.UNAVAILABLE, cluster.unavailableReason(), false);
        }
        return;
      }
      if (this.reading && !this.replayable) {
        this.fail(
          Status.UNAVAILABLE,
          'the upstream failed before answering and the request is too large to send again',
          false,
        );
        return;
      }
      const session = cluster.pool(host)?.acquire() ?? null;
      if (session !== null && this.send(host, session)) return;
      (this.avoid ??= new Set()).add(host);
      if (TRACE.call) cluster.traceRetry(this, host, this.attempts + 1, MAX_ATTEMPTS, 'no stream');
      if (++this.attempts >= MAX_ATTEMPTS) {
        this.fail(
          Status.UNAVAILABLE,
          `could not send the call upstream after ${this.attempts} attempts`,
          false,
        );
        return;
      }
    }
  }

  private send(host: Host, session: UpstreamSession): boolean {
    const bytes =
      this.headerBytes +
      (this.timeoutMs === undefined ? 0 : GRPC_TIMEOUT_FIELD_BYTES) +
      (this.retries === 0 ? 0 : PREVIOUS_ATTEMPTS_FIELD_BYTES);
    if (bytes > session.maxHeaderListSize) {
      // gRPC C-core fails its whole connection, every call on it, for a larger block.
      this.fail(
        Status.RESOURCE_EXHAUSTED,
        `request metadata of ${bytes} bytes is over the ${session.maxHeaderListSize} that ${host.key} accepts`,
        false,
      );
      return true;
    }
    const fields = this.fields;
    setField(fields, ':scheme', session.pool.scheme);
    const clock = this.upstreamContext.clock;
    if (this.timeoutMs !== undefined) {
      const remaining = this.timeoutMs - (clock.now() - this.startedAt);
      // Capped where timers stop working: many servers (grpc-js among them) turn a longer
      // timeout into an instant DEADLINE_EXCEEDED.
      setField(
        fields,
        'grpc-timeout',
        formatGrpcTimeout(Math.min(remaining, MAX_FORWARDED_TIMEOUT_MS)),
      );
    }
    const upstream = session.open(fields, this);
    if (upstream === null) return false; // the connection closed under us: nothing was sent.
    if (upstream instanceof Error) {
      // The transport refused these headers: the call's own fault, not the connection's.
      this.fail(
        Status.INTERNAL,
        `cannot send the request headers: ${describeError(upstream)}`,
        false,
      );
      return true;
    }
    this.session = session;
    this.host = host;
    this.upstream = upstream;
    this.upstreamEnded = false;
    this.attemptStartedAt = clock.now();
    this.cluster.balancer.callStarted(host);
    const hedges = this.hedges;
    if (hedges !== null) {
      this.cluster.limits.stats.attempts++;
      if (hedges.sent === 1 && this.retryTimer === undefined) {
        const delay = this.hedgingPolicy?.hedgingDelayMs ?? 0;
        this.retryTimer = clock.setTimeout(() => this.hedgeDue(), delay);
      }
    }
    const policy = this.retryPolicy;
    if (policy !== undefined) {
      this.cluster.limits.stats.attempts++;
      if (policy.perTryTimeoutMs !== undefined) {
        // A transparent retry replaces the refused attempt's timer.
        if (this.retryTimer !== undefined) clock.clearTimeout(this.retryTimer);
        this.retryTimer = clock.setTimeout(() => this.perTryTimeout(), policy.perTryTimeoutMs);
      }
    }

    if (!this.reading) {
      this.reading = true;
      this.startRequest();
    } else {
      // A retry: send again what the failed attempt had sent, then read on.
      if (this.replayHead !== null) upstream.write(this.replayHead);
      if (this.replayRest !== null) for (const chunk of this.replayRest) upstream.write(chunk);
      if (this.requestEnded) upstream.end();
      else this.resumeRequest();
    }
    return true;
  }

  /** Whether the request sent so far can be sent again to another endpoint. */
  private get replayable(): boolean {
    return this.replayBytes >= 0;
  }

  private dropReplay(): void {
    if (this.replayBytes > 0) replayHeldBytes -= this.replayBytes;
    this.replayBytes = -1;
    this.replayHead = null;
    this.replayRest = null;
  }

  /** Request data from the client. */
  forwardRequest(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (this.replayBytes >= 0) {
      if (
        this.replayBytes + chunk.length > this.replayLimit ||
        replayHeldBytes + chunk.length > MAX_REPLAY_HELD_BYTES
      ) {
        if (this.replayLimit === MAX_RETRY_REPLAY_BYTES) this.cluster.limits.stats.bufferCommits++;
        this.dropReplay();
      } else {
        this.replayBytes += chunk.length;
        replayHeldBytes += chunk.length;
        if (this.replayHead === null) this.replayHead = chunk;
        else (this.replayRest ??= []).push(chunk);
      }
    }
    const upstream = this.upstream;
    if (upstream === null) {
      // Between attempts: keep the chunk for the retry, read no more until it is sent.
      this.pauseRequest();
      return;
    }
    if (!upstream.write(chunk)) this.pauseRequest();
  }

  /** The client's request ended. */
  requestEnd(): void {
    this.requestEnded = true;
    const upstream = this.upstream;
    if (upstream !== null) upstream.end();
    const hedges = this.hedges;
    if (hedges !== null && hedges.due) {
      hedges.due = false;
      this.sendHedge();
    }
  }

  /** The client took the response data it was behind on. */
  protected responseDrained(): void {
    const upstream = this.upstream;
    if (upstream !== null) upstream.resume();
  }

  /** Response bytes received from the upstream and not yet passed on. */
  protected get upstreamBufferedBytes(): number {
    return this.upstream?.bufferedBytes ?? 0;
  }

  /** UpstreamHandler: response headers. */
  onHeaders(upstream: UpstreamStream, fields: HeaderFields, endStream: boolean): void {
    if (this.done) return;
    if (upstream !== this.upstream) {
      if (this.hedges === null || !this.hedgeAnswered(upstream, fields, endStream)) return;
    } else if (
      this.hedges !== null &&
      endStream &&
      this.hedgeFailed(fields) &&
      this.dropPrimary(true)
    ) {
      return;
    }
    this.progress = CallProgress.PROCESSED;
    if (endStream) this.upstreamEnded = true;
    const httpStatus = fieldValue(fields, ':status');
    const grpcStatus = fieldValue(fields, 'grpc-status');
    // As grpc-js decides: headers that end the stream (trailers-only, or not gRPC at all) are
    // a status, which a retry policy may retry; any other headers commit the call.
    if (
      (endStream || httpStatus !== '200') &&
      this.retryPolicy !== undefined &&
      this.retryStatus(
        grpcStatus !== undefined
          ? Number(grpcStatus)
          : httpStatus === '200'
            ? Status.INTERNAL
            : statusFromHttpStatus(httpStatus === undefined ? 0 : Number(httpStatus)),
        fieldValue(fields, 'grpc-retry-pushback-ms'),
        'status',
      )
    ) {
      return;
    }
    this.dropReplay();
    const problem = this.unforwardable(fields, 'response headers');
    if (problem !== null) {
      this.fail(Status.INTERNAL, problem, false);
      return;
    }
    if (httpStatus !== '200') {
      // Not a gRPC answer (a load balancer's 502, an HTTP server's 404): clients expect 200.
      const code =
        grpcStatus !== undefined
          ? Number(grpcStatus)
          : statusFromHttpStatus(httpStatus === undefined ? 0 : Number(httpStatus));
      const detail = fieldValue(fields, 'grpc-message') ?? `upstream answered HTTP ${httpStatus}`;
      cancelUpstream(this.session, upstream);
      this.fail(code, detail, code === Status.UNAVAILABLE);
      return;
    }
    if (endStream) {
      // Trailers-only: the status travels in the only HEADERS frame; keep it that way.
      this.trailersOnly = true;
      if (grpcStatus === undefined) {
        fields.push(
          'grpc-status',
          String(Status.INTERNAL),
          'grpc-message',
          'upstream ended the call without a grpc-status',
        );
        this.status = Status.INTERNAL;
      } else {
        this.status = Number(grpcStatus);
      }
    }
    this.commit();
    this.respond(fields, endStream);
  }

  /** UpstreamHandler: response data. */
  onData(upstream: UpstreamStream, chunk: Buffer): void {
    if (upstream !== this.upstream) return;
    this.bytesOut += chunk.length;
    if (!this.writeResponse(chunk)) upstream.pause();
  }

  /** UpstreamHandler: trailers. */
  onTrailers(upstream: UpstreamStream, trailers: HeaderFields): void {
    if (upstream !== this.upstream || this.done) return;
    const problem = this.unforwardable(trailers, 'trailers');
    if (problem !== null) {
      this.status = Status.INTERNAL;
      this.message = problem;
      this.trailers = statusTrailers(Status.INTERNAL, problem);
      return;
    }
    this.trailers = trailers;
    const s = fieldValue(trailers, 'grpc-status');
    this.status = s === undefined ? -1 : Number(s);
  }

  /**
   * Says why an upstream header block must not reach the client, if it must not: a client
   * such as gRPC C-core fails its whole connection, every call on it, for a `-bin` value that
   * is not base64 or a block over its header list limit.
   */
  private unforwardable(
    fields: HeaderFields,
    what: 'response headers' | 'trailers',
  ): string | null {
    const bytes = headerFieldsSize(fields);
    if (bytes === INVALID_FIELDS) return `upstream ${what}: ${invalidFieldReason(fields)}`;
    const limit = this.clientHeaderLimit();
    if (bytes > limit) return `upstream ${what} of ${bytes} bytes are over the client's ${limit}`;
    return null;
  }

  /** UpstreamHandler: END_STREAM read. */
  onEnd(upstream: UpstreamStream): void {
    if (upstream !== this.upstream || this.done) return;
    this.upstreamEnded = true;
    // Without trailers this is a DATA frame with END_STREAM, or a reset the transport ended
    // the stream for: onClose tells which.
    if (this.trailersOnly || this.trailers === null) return;
    if (fieldValue(this.trailers, 'grpc-status') === undefined) {
      this.status = Status.INTERNAL;
      this.message = 'upstream ended the call without a grpc-status';
      this.trailers = statusTrailers(Status.INTERNAL, this.message);
    }
    this.endResponse();
  }

  /** UpstreamHandler: the stream is gone, and how it ended. */
  onClose(
    upstream: UpstreamStream,
    outcome: StreamOutcome,
    rst: number,
    error: Error | undefined,
  ): void {
    if (upstream !== this.upstream) {
      if (this.hedges !== null && !this.done) this.hedgeClosed(upstream, outcome, rst);
      return;
    }
    const session = this.session;
    this.session = null;
    if (this.done) return;
    const host = this.host!;
    if (this.upstreamEnded && (this.trailersOnly || this.trailers !== null)) {
      this.finish(this.status, isEndpointFailure(this.status));
      return;
    }
    // The stream ended without a status: refused, reset by the upstream, or its session died.
    const cluster = this.cluster;
    if (
      this.progress !== CallProgress.PROCESSED &&
      outcome === StreamOutcome.REFUSED &&
      this.replayable
    ) {
      // The upstream did not process the call (refused, or it never left): safe elsewhere.
      this.progress = CallProgress.REFUSED;
      cluster.balancer.callEnded(
        host,
        this.upstreamContext.clock.now() - this.attemptStartedAt,
        rst !== ErrorCode.REFUSED_STREAM,
      );
      this.upstream = null;
      this.host = null;
      (this.avoid ??= new Set()).add(host);
      if (TRACE.call) cluster.traceRetry(this, host, this.attempts + 1, MAX_ATTEMPTS, 'refused');
      if (++this.attempts < MAX_ATTEMPTS) {
        this.dispatch();
        return;
      }
      this.fail(Status.UNAVAILABLE, `${host.key} refused the call ${this.attempts} times`, false);
      return;
    }
    this.progress = CallProgress.PROCESSED;
    let code: number;
    let message: string;
    if (outcome === StreamOutcome.COMPLETE) {
      code = Status.INTERNAL;
      message = 'upstream ended the call without a grpc-status';
    } else if (outcome !== StreamOutcome.LOST && session !== null) {
      code = rst === ErrorCode.NO_ERROR ? Status.INTERNAL : statusFromRstCode(rst);
      message = `upstream ${host.key} reset the stream (${rstCodeName(rst)})`;
    } else {
      code = Status.UNAVAILABLE;
      const why = cluster.pool(host)?.sessionError ?? error;
      message = `connection to ${host.key} lost mid-call${why ? `: ${describeError(why)}` : ''}`;
    }
    if (this.hedges !== null && this.hedges.streams.length > 0) {
      // Copies of the call are still running: one of them may answer.
      this.session = session;
      this.dropPrimary(isEndpointFailure(code));
      return;
    }
    if (
      this.retryPolicy !== undefined &&
      this.retryStatus(code, undefined, outcome === StreamOutcome.COMPLETE ? 'status' : 'reset')
    ) {
      if (code === Status.UNAVAILABLE) cluster.endpointFailed();
      return;
    }
    this.failFromUpstream(code, message, code === Status.UNAVAILABLE || code === Status.INTERNAL);
  }

  /** UpstreamHandler: the upstream takes request data again. */
  onDrain(upstream: UpstreamStream): void {
    if (upstream !== this.upstream) return;
    this.resumeRequest();
  }

  /**
   * The call is committed (response headers go to the client): no retry from here on, and no
   * per-try timeout.
   */
  private commit(): void {
    this.committed = true;
    if (this.retryTimer !== undefined) {
      this.upstreamContext.clock.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    if (this.hedges !== null) this.cancelHedges();
  }

  // Hedging (gRFC A6): copies of the call go to other endpoints every hedgingDelay until one
  // answers. The request is sent again from the replay buffer, so a copy goes only once the
  // client's request has ended (a unary or server-streaming call's, at once).

  /** The hedging delay passed: the next copy goes now, or when the request ends. */
  private hedgeDue(): void {
    this.retryTimer = undefined;
    if (this.done || this.committed) return;
    if (this.requestEnded) this.sendHedge();
    else this.hedges!.due = true;
  }

  /** Sends one more copy to an endpoint no other copy uses; false when none could go. */
  private sendHedge(): boolean {
    const hedges = this.hedges!;
    const cluster = this.cluster;
    const limits = cluster.limits;
    const policy = this.hedgingPolicy!;
    if (
      this.done ||
      this.committed ||
      !this.requestEnded ||
      !this.replayable ||
      hedges.sent >= policy.maxAttempts
    ) {
      return false;
    }
    const clock = this.upstreamContext.clock;
    const now = clock.now();
    const avoid = (this.avoid ??= new Set());
    if (this.host !== null) avoid.add(this.host);
    for (const host of hedges.hosts) avoid.add(host);
    const host = cluster.balancer.pickOther(this, avoid);
    // A copy on an endpoint already working on the call would only add load.
    if (host === null || avoid.has(host)) return false;
    const session = cluster.pool(host)?.acquire() ?? null;
    if (session === null) return false;
    const denial = limits.takeRetry(now, this.retrying);
    if (denial !== undefined) {
      limits.stats.denied[denial]++;
      return false;
    }
    this.retrying = true;
    const fields = this.fields;
    setField(fields, ':scheme', session.pool.scheme);
    if (this.timeoutMs !== undefined) {
      const remaining = this.timeoutMs - (now - this.startedAt);
      setField(
        fields,
        'grpc-timeout',
        formatGrpcTimeout(Math.min(remaining, MAX_FORWARDED_TIMEOUT_MS)),
      );
    }
    const previous = Number(this.clientAttempts ?? 0) || 0;
    setField(fields, 'grpc-previous-rpc-attempts', String(previous + hedges.sent));
    const stream = session.open(fields, this);
    if (stream === null || stream instanceof Error) return false;
    if (this.replayHead !== null) stream.write(this.replayHead);
    if (this.replayRest !== null) for (const chunk of this.replayRest) stream.write(chunk);
    stream.end();
    avoid.add(host);
    hedges.streams.push(stream);
    hedges.sessions.push(session);
    hedges.hosts.push(host);
    hedges.startedAt.push(now);
    hedges.sent++;
    limits.stats.hedges++;
    limits.stats.attempts++;
    cluster.balancer.callStarted(host);
    if (hedges.sent < policy.maxAttempts) {
      if (this.retryTimer !== undefined) clock.clearTimeout(this.retryTimer);
      this.retryTimer = clock.setTimeout(() => this.hedgeDue(), policy.hedgingDelayMs);
    }
    return true;
  }

  /** Whether trailers-only `fields` carry a status the hedging policy calls non-fatal. */
  private hedgeFailed(fields: HeaderFields): boolean {
    const status = fieldValue(fields, 'grpc-status');
    if (status === undefined) return false;
    const failed = this.hedgingPolicy!.nonFatalStatusCodes.includes(Number(status));
    if (failed) this.cluster.limits.attemptFailed();
    return failed;
  }

  /**
   * The attempt in `upstream` failed while copies may still answer: it is given up and, as A6
   * says for a non-fatal status, the next copy goes at once. False (nothing changed) when no
   * copy is running and none could be sent: the failure is then the call's.
   */
  private dropPrimary(endpointFailure: boolean): boolean {
    const hedges = this.hedges!;
    const copies = hedges.streams.length > 0;
    if (!copies && !this.sendHedge()) return false;
    const host = this.host;
    if (host !== null) {
      this.cluster.balancer.callEnded(
        host,
        this.upstreamContext.clock.now() - this.attemptStartedAt,
        endpointFailure,
      );
      (this.avoid ??= new Set()).add(host);
    }
    this.upstream = null;
    this.session = null;
    this.host = null;
    if (copies) this.sendHedge();
    return true;
  }

  /**
   * Response headers on a copy. A non-fatal trailers-only status ends that copy (the next goes
   * at once); anything else makes it the call's attempt, and the others are cancelled. True
   * when the headers are now the call's to handle.
   */
  private hedgeAnswered(stream: UpstreamStream, fields: HeaderFields, endStream: boolean): boolean {
    const hedges = this.hedges!;
    const i = hedges.streams.indexOf(stream);
    if (i < 0) return false;
    if (endStream && this.hedgeFailed(fields)) {
      const live = hedges.streams.length - 1 + (this.upstream === null ? 0 : 1);
      if (live > 0 || this.sendHedge()) {
        this.endHedge(i, true);
        return false;
      }
      // The last copy, and none can follow: its status is the call's.
    }
    const primary = this.upstream;
    if (primary !== null) {
      cancelUpstream(this.session, primary);
      this.cluster.balancer.callEnded(
        this.host!,
        this.upstreamContext.clock.now() - this.attemptStartedAt,
        false,
      );
    }
    this.upstream = stream;
    this.session = hedges.sessions[i];
    this.host = hedges.hosts[i];
    this.attemptStartedAt = hedges.startedAt[i];
    this.upstreamEnded = false;
    this.cluster.limits.stats.hedgeWins++;
    this.removeHedge(i);
    return true;
  }

  /** A copy's stream closed before it answered. */
  private hedgeClosed(stream: UpstreamStream, outcome: StreamOutcome, rst: number): void {
    const hedges = this.hedges!;
    const i = hedges.streams.indexOf(stream);
    if (i < 0) return;
    const host = hedges.hosts[i];
    this.endHedge(i, outcome !== StreamOutcome.REFUSED || rst !== ErrorCode.REFUSED_STREAM);
    if (this.upstream !== null || hedges.streams.length > 0 || this.sendHedge()) return;
    this.fail(
      Status.UNAVAILABLE,
      `every copy of the hedged call failed; the last on ${host.key} (${rstCodeName(rst)})`,
      false,
    );
  }

  private endHedge(i: number, endpointFailure: boolean): void {
    const hedges = this.hedges!;
    this.cluster.balancer.callEnded(
      hedges.hosts[i],
      this.upstreamContext.clock.now() - hedges.startedAt[i],
      endpointFailure,
    );
    this.removeHedge(i);
  }

  private removeHedge(i: number): void {
    const hedges = this.hedges!;
    hedges.streams.splice(i, 1);
    hedges.sessions.splice(i, 1);
    hedges.hosts.splice(i, 1);
    hedges.startedAt.splice(i, 1);
  }

  /** Cancels every copy still running (the backends see the cancellation). */
  private cancelHedges(): void {
    const hedges = this.hedges!;
    while (hedges.streams.length > 0) {
      const last = hedges.streams.length - 1;
      cancelUpstream(hedges.sessions[last], hedges.streams[last]);
      this.endHedge(last, false);
    }
  }

  /**
   * The running attempt failed with `code` before anything reached the client: when the retry
   * policy and the limits allow, ends the attempt and schedules the next one (true). False:
   * the failure is the call's.
   */
  private retryStatus(code: number, pushback: string | undefined, reason: RetryReason): boolean {
    const limits = this.cluster.limits;
    const policy = this.retryPolicy!;
    if (this.committed || !policy.retryableStatusCodes.includes(code)) return false;
    // A6: a retryable failure costs a throttle token whether or not it is retried.
    limits.attemptFailed();
    const denial = this.retryDenial(pushback);
    if (denial !== undefined) {
      limits.stats.denied[denial]++;
      return false;
    }
    this.retry(code, reason);
    return true;
  }

  /** Why the call may not be retried now, or undefined (and the retry is counted). */
  private retryDenial(pushback: string | undefined): RetryDenial | undefined {
    const limits = this.cluster.limits;
    const policy = this.retryPolicy!;
    if (this.retries + 1 >= policy.maxAttempts) return 'attempts';
    if (!this.replayable) return 'committed';
    if (!policy.retryClientRetries && this.clientAttempts !== undefined) {
      return 'client_retries';
    }
    let delay: number;
    if (pushback !== undefined) {
      // A6: a non-negative integer is the delay (and the backoff starts over); anything else,
      // a negative number included, says not to retry.
      if (!/^\d{1,9}$/.test(pushback)) return 'pushback';
      delay = Number(pushback);
      this.backoffMs = policy.initialBackoffMs;
    } else {
      // A6 and grpc-js: a random delay up to the current backoff, which then grows.
      const bound = this.backoffMs === 0 ? policy.initialBackoffMs : this.backoffMs;
      delay = Math.floor(limits.random() * bound);
      this.backoffMs = Math.min(bound * policy.backoffMultiplier, policy.maxBackoffMs);
    }
    const clock = this.upstreamContext.clock;
    const now = clock.now();
    // A retry that cannot start before the deadline would only turn the status into
    // DEADLINE_EXCEEDED.
    if (this.timeoutMs !== undefined && now + delay >= this.startedAt + this.timeoutMs) {
      return 'deadline';
    }
    const denial = limits.takeRetry(now, this.retrying);
    if (denial !== undefined) return denial;
    this.retrying = true;
    if (this.retryTimer !== undefined) clock.clearTimeout(this.retryTimer);
    this.retryTimer = clock.setTimeout(() => this.retryNow(), delay);
    return undefined;
  }

  /** Ends the failed attempt; the next one goes out when the backoff timer fires. */
  private retry(code: number, reason: RetryReason): void {
    const upstream = this.upstream;
    const session = this.session;
    const host = this.host!;
    this.upstream = null;
    this.session = null;
    this.host = null;
    // A stream both sides ended closes by itself; one still sending, or still waiting for an
    // answer (per-try timeout), is reset so that the upstream stops working on it.
    if (upstream !== null && upstream.open && !(this.upstreamEnded && this.requestEnded)) {
      cancelUpstream(session, upstream);
    }
    const cluster = this.cluster;
    cluster.balancer.callEnded(
      host,
      this.upstreamContext.clock.now() - this.attemptStartedAt,
      isEndpointFailure(code),
    );
    (this.avoid ??= new Set()).add(host);
    this.retries++;
    cluster.limits.stats.retries[reason]++;
    if (TRACE.call) {
      cluster.traceRetry(this, host, this.retries, this.retryPolicy!.maxAttempts, reason);
    }
    const previous = Number(this.clientAttempts ?? 0) || 0;
    setField(this.fields, 'grpc-previous-rpc-attempts', String(previous + this.retries));
    this.progress = CallProgress.NOT_STARTED;
    this.trailersOnly = false;
    this.trailers = null;
    this.status = -1;
  }

  private retryNow(): void {
    this.retryTimer = undefined;
    if (!this.done) this.dispatch();
  }

  /** The running attempt answered no headers within retryPolicy.perTryTimeout. */
  private perTryTimeout(): void {
    this.retryTimer = undefined;
    if (this.done || this.committed || this.host === null) return;
    const limits = this.cluster.limits;
    const policy = this.retryPolicy!;
    const host = this.host;
    const denial = this.retryDenial(undefined);
    if (denial === undefined) {
      this.retry(Status.DEADLINE_EXCEEDED, 'per_try_timeout');
      return;
    }
    limits.stats.denied[denial]++;
    this.fail(
      Status.DEADLINE_EXCEEDED,
      `per-try timeout of ${policy.perTryTimeoutMs} ms exceeded on ${host.key} (attempt ${this.retries + 1})`,
      true,
    );
  }

  /** Attempts sent upstream and the hosts they went to, for the access log. */
  hostsTried(): string {
    const hosts = this.avoid === null ? [] : [...this.avoid].map((h) => h.key);
    if (this.host !== null && !this.avoid?.has(this.host)) hosts.push(this.host.key);
    return hosts.join(',');
  }

  /** The client cancelled or reset its stream: the call ends CANCELLED. */
  protected cancelledByClient(): void {
    this.leaveQueue();
    if (this.done) return;
    this.cancelUpstream();
    this.message = 'cancelled by the client';
    this.finish(Status.CANCELLED, this.unansweredAtDeadline());
  }

  /** Ends the call with `code` without answering the client (its stream is being reset). */
  protected abort(code: number, message: string): void {
    this.cancelUpstream();
    if (this.done) return;
    this.message = message;
    this.finish(code, false);
  }

  private deadline(): void {
    this.timer = undefined;
    if (this.done) return;
    this.cancelUpstream();
    this.leaveQueue();
    this.fail(
      Status.DEADLINE_EXCEEDED,
      `deadline of ${this.timeoutMs} ms exceeded`,
      this.unansweredAtDeadline(),
    );
  }

  /**
   * An endpoint that took the call and said nothing by its deadline counts as failing it
   * (outlier detection). The client cancels at its own deadline, which comes a little before
   * or after the proxy's: a cancel in the last tenth counts too.
   */
  private unansweredAtDeadline(): boolean {
    if (this.host === null || this.progress === CallProgress.PROCESSED) return false;
    if (this.timeoutMs === undefined) return false;
    return this.upstreamContext.clock.now() - this.startedAt >= this.timeoutMs * 0.9;
  }

  /** The proxy is shutting down and the grace is over. */
  abandon(message: string): void {
    this.leaveQueue();
    this.fail(Status.UNAVAILABLE, message, false);
  }

  private leaveQueue(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.cluster.dequeue(this);
  }

  private cancelUpstream(): void {
    const upstream = this.upstream;
    if (upstream !== null) cancelUpstream(this.session, upstream);
  }

  /** Ends the call with a status the proxy made. */
  fail(code: number, message: string, endpointFailure: boolean): void {
    if (this.done) return;
    this.cancelUpstream();
    this.message = message;
    this.respondStatus(code, message);
    this.finish(code, endpointFailure);
  }

  private failFromUpstream(code: number, message: string, endpointFailure: boolean): void {
    if (endpointFailure) this.cluster.endpointFailed();
    this.fail(code, message, endpointFailure);
  }

  private finish(code: number, endpointFailure: boolean): void {
    this.done = true;
    this.status = code;
    const clock = this.upstreamContext.clock;
    this.endedAt = clock.now();
    if (this.timer !== undefined) {
      clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const limits = this.limits;
    if (limits !== null) {
      this.limits = null;
      limits.activeCalls--;
      if (this.retrying) limits.activeRetries--;
      if (this.retryPolicy !== undefined || this.hedges !== null) {
        if (this.retryTimer !== undefined) clock.clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        if (code === Status.OK) limits.callSucceeded();
        if (this.hedges !== null) this.cancelHedges();
      }
    }
    if (this.replayBytes > 0) this.dropReplay();
    const host = this.host;
    if (host !== null) {
      this.cluster.balancer.callEnded(host, this.endedAt - this.attemptStartedAt, endpointFailure);
    }
    this.ended();
  }
}

/** Trailers that carry a status the proxy made. */
export function statusTrailers(code: number, message: string): HeaderFields {
  return ['grpc-status', String(code), 'grpc-message', encodeGrpcMessage(message)];
}

/** A trailers-only answer (response headers that end the stream) carrying a status. */
export function statusResponse(code: number, message: string): HeaderFields {
  return [
    ':status',
    '200',
    'content-type',
    'application/grpc',
    'grpc-status',
    String(code),
    'grpc-message',
    encodeGrpcMessage(message),
  ];
}
