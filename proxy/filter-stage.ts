// The request-header stage of a call that has filters, the same for gRPC, REST/JSON and
// gRPC-Web calls: the listener's filters, then routing (on the headers they changed, or the
// route a filter picked), then the route's filters; the call's deadline running from the
// request headers meanwhile. It decides where the call goes; the caller makes the call.
import type { Clock, TimerHandle } from '../common/clock.js';
import type { Filter, FilterPeer } from '../filter/filter.js';
import { FilterCall } from '../filter/filter-call.js';
import { FieldMetadata } from '../filter/field-metadata.js';
import { Status } from '../grpc/grpc-status.js';
import { effectiveTimeout } from '../grpc/grpc-timeout.js';
import type { HeaderFields } from '../transport/header-fields.js';
import type { CallContext } from './call.js';

/** How many times one call's route may change before it is refused: a pick loop. */
const MAX_ROUTE_CHANGES = 8;

/** What the stage needs of the proxy's routes (the routing in force when the call came). */
export interface FilterRouting {
  /** The context of the first route the path and fields match, or why none is found. */
  match(path: string, fields: HeaderFields): CallContext | string;
  /** The context of the route named `name`; undefined when the config has none. */
  named(name: string): CallContext | undefined;
  /** A filter picked a route the config does not have (logged, at a limited rate). */
  unknownRoute(name: string, filter: string, listener: string, path: string): void;
}

export interface FilterStageInput {
  /** The listener's filters; undefined when it has none. */
  readonly listenerFilters: readonly Filter[] | undefined;
  /**
   * The call's context when it is known before any filter runs: a call in a CONNECT tunnel
   * (then `pinned`), or a listener without filters (routed already).
   */
  readonly context: CallContext | undefined;
  /** The call is in a CONNECT tunnel: its cluster is fixed, a filter cannot pick a route. */
  readonly pinned: boolean;
  readonly routing: FilterRouting;
  /** The request header fields; filters edit them in place. */
  readonly fields: HeaderFields;
  readonly path: string;
  readonly peer: FilterPeer;
  readonly listener: string;
  /** The client's `grpc-timeout` in milliseconds; undefined for none. */
  readonly requestedMs: number | undefined;
  /**
   * The filters' clock: the call's duration (`onCallEnd`), when a hook began to wait, and the
   * timer that ends the wait at the deadline.
   */
  readonly clock: Clock;
}

/** Where the call goes, or the status that ends it. */
export type FilterStageOutcome =
  | {
      readonly go: true;
      readonly context: CallContext;
      /** The time left of the deadline, for the upstream call; undefined for none. */
      readonly timeoutMs: number | undefined;
      /** Filters changed the header fields (their size must be counted again). */
      readonly changed: boolean;
    }
  | {
      readonly go: false;
      readonly code: number;
      readonly message: string;
      readonly trailers?: Readonly<Record<string, string>>;
    };

function isPromise<T>(v: unknown): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * One call's request-header stage. `done` is called once, synchronously from `run()` when no
 * hook waits, else later; never after `cancel()`. A refusal's trailers hooks and `onCallEnd` are
 * the caller's to run (it answers the client); `cancel()` runs `onCallEnd` itself.
 */
export class FilterStage {
  readonly call: FilterCall;
  readonly metadata: FieldMetadata;
  private context: CallContext | undefined;
  /** The deadline in ms from `startedAt`, as far as it is known (the cluster caps it). */
  private deadlineMs: number | undefined;
  /**
   * When the first hook began to wait (the input's clock): the deadline is counted from here,
   * which is the request headers' arrival but for the synchronous hooks before it (µs).
   */
  private startedAt = 0;
  private timer: TimerHandle | undefined;
  private settled = false;
  /** A hook waited at least once: the upstream gets only the time left. */
  private waited = false;
  private changes = 0;

  constructor(
    private readonly input: FilterStageInput,
    private readonly done: (outcome: FilterStageOutcome) => void,
  ) {
    const context = input.context;
    this.context = context;
    this.call = new FilterCall(
      input.listenerFilters ?? context?.filters ?? [],
      'proxy',
      input.path,
      input.peer,
      input.listenerFilters === undefined && context !== undefined ? context.routeName : '',
      input.listener,
      input.clock,
    );
    this.metadata = new FieldMetadata(input.fields);
    this.deadlineMs =
      context === undefined
        ? input.requestedMs
        : effectiveTimeout(input.requestedMs, context.cluster.config.timeouts);
  }

  /** Runs the hooks; see the class comment for when `done` is called. */
  run(): void {
    // Listener filters first: the route (even a known one) is applied once they have run.
    const routeLater = this.input.listenerFilters !== undefined;
    this.step(routeLater);
  }

  /** The client went away: whatever a waiting filter decides is ignored; nothing goes upstream. */
  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimer();
    this.call.end(Status.CANCELLED, 'the client went away while filters ran');
  }

  /** Runs the hooks not run yet; `routeNext`: the filters that ran were the listener's. */
  private step(routeNext: boolean): void {
    for (;;) {
      const verdict = this.call.requestHeaders(this.metadata);
      if (isPromise<Awaited<typeof verdict>>(verdict)) {
        this.wait();
        void verdict.then((v) => {
          if (this.settled) return;
          this.clearTimer();
          if (v !== undefined) this.finish({ go: false, ...v });
          else this.step(routeNext);
        });
        return;
      }
      if (verdict !== undefined) {
        this.finish({ go: false, ...verdict });
        return;
      }
      const routed = this.route(routeNext);
      if (routed === 'done') break;
      if (routed === 'refused') return;
      routeNext = false;
    }
    const context = this.context!;
    let timeoutMs = this.deadlineMs;
    if (timeoutMs !== undefined && this.waited) {
      timeoutMs -= this.input.clock.now() - this.startedAt;
      if (timeoutMs <= 0) {
        this.expire();
        return;
      }
    }
    this.finish({ go: true, context, timeoutMs, changed: this.metadata.changed });
  }

  /**
   * After the hooks of the list ran: 'more' when routing added filters to run, 'done' when the
   * call may go, 'refused' when it ended.
   */
  private route(afterListener: boolean): 'more' | 'done' | 'refused' {
    const call = this.call;
    const input = this.input;
    let next: CallContext;
    const picked = call.pickedRoute;
    if (picked !== undefined) {
      if (input.pinned) {
        this.finish({
          go: false,
          code: Status.INTERNAL,
          message: `filter "${call.pickedBy}" picked route "${picked}", but calls in a CONNECT tunnel go to its cluster`,
        });
        return 'refused';
      }
      if (!afterListener && picked === call.route) {
        // A route's filter picked the route the call already goes by: nothing changes.
        call.pickedRoute = undefined;
        return 'done';
      }
      const named = input.routing.named(picked);
      if (named === undefined) {
        input.routing.unknownRoute(picked, call.pickedBy, input.listener, input.path);
        this.finish({
          go: false,
          code: Status.INTERNAL,
          message: `filter "${call.pickedBy}" picked route "${picked}", which the config does not have`,
        });
        return 'refused';
      }
      next = named;
    } else if (!afterListener) {
      return 'done';
    } else if (this.context !== undefined) {
      next = this.context;
    } else {
      const found = input.routing.match(input.path, input.fields);
      if (typeof found === 'string') {
        this.finish({ go: false, code: Status.UNIMPLEMENTED, message: found });
        return 'refused';
      }
      next = found;
    }
    if (++this.changes > MAX_ROUTE_CHANGES) {
      this.finish({
        go: false,
        code: Status.INTERNAL,
        message: `filters changed the route of the call more than ${MAX_ROUTE_CHANGES} times`,
      });
      return 'refused';
    }
    this.context = next;
    // The cluster's maximum caps the deadline, from the request headers on.
    this.deadlineMs = effectiveTimeout(input.requestedMs, next.cluster.config.timeouts);
    const ran = call.filters.length;
    call.routeTo(next.routeName, next.filters);
    return call.filters.length > ran ? 'more' : 'done';
  }

  /** A hook returned a Promise: the deadline, as far as it is known, is watched meanwhile. */
  private wait(): void {
    const clock = this.input.clock;
    if (!this.waited) {
      this.waited = true;
      this.startedAt = clock.now();
    }
    const deadline = this.deadlineMs;
    if (deadline === undefined || this.timer !== undefined) return;
    const left = deadline - (clock.now() - this.startedAt);
    // Node fires a timer of more than 2^31-1 ms at once; such a deadline needs none.
    if (left > 2 ** 31 - 1) return;
    this.timer = clock.setTimeout(() => this.expire(), Math.max(0, left));
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.input.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    if (this.settled) return;
    this.finish({
      go: false,
      code: Status.DEADLINE_EXCEEDED,
      message: `deadline of ${Math.round(this.deadlineMs ?? 0)} ms exceeded while filters ran`,
    });
  }

  private finish(outcome: FilterStageOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimer();
    this.done(outcome);
  }
}
