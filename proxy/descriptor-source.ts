// Where the gateway's and the reflection server's descriptors come from, kept current: the
// .proto files of `descriptors.protos` (read at start and on reload) and, with
// `descriptors.reflection`, what each endpoint of the chosen clusters serves, asked again on a
// timer and whenever a cluster's endpoints change. A new set replaces the old one only when
// its content hash changes; calls already running keep the set they started with.
import { systemClock, type Clock, type TimerHandle } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { describeError } from '../common/errors.js';
import type { DescriptorsConfig } from '../config/types.js';
import { loadProtos, type DescriptorPool } from '../gateway/descriptor-pool.js';
import { buildDescriptorSet, type DescriptorSet } from '../gateway/descriptor-set.js';
import { fetchSchema, schemaHash, type ReflectedSchema } from '../gateway/reflection-client.js';
import type { JsonValue } from '@bufbuild/protobuf';
import type { Cluster } from '../upstream/cluster.js';
import { endpointReflectionCall } from './reflection-fetch.js';

/** What one endpoint served at the last refresh. */
export interface EndpointSchemaView {
  readonly endpoint: string;
  readonly hash?: string;
  readonly error?: string;
}

/** One cluster's reflection, for /clusters and /metrics. */
export interface ClusterSchemaView {
  readonly cluster: string;
  /** The schema in use for the cluster (the newest complete one), if any was fetched. */
  readonly hash: string | undefined;
  readonly services: readonly string[];
  /** Wall-clock ms of the fetch that produced it; 0 before the first. */
  readonly fetchedAt: number;
  /** More than one schema among the endpoints (a rolling deploy, or a stale endpoint). */
  readonly skew: boolean;
  /** Distinct schemas the endpoints served at the last refresh. */
  readonly versions: number;
  readonly endpoints: readonly EndpointSchemaView[];
  readonly fetchErrors: number;
}

export interface DescriptorsView {
  /** Hash over every file of the set in use. */
  readonly hash: string;
  /** Services with methods but no HTTP rule (reflection dropped them; see --proto / httpRules). */
  readonly withoutRules: readonly string[];
  readonly reflection: readonly ClusterSchemaView[];
}

interface ClusterState {
  chosen: ReflectedSchema | undefined;
  fetchedAt: number;
  endpoints: EndpointSchemaView[];
  versions: number;
  fetchErrors: number;
}

/** Waits this long after an endpoint change, so one deploy's many updates fetch once. */
const ENDPOINT_CHANGE_DELAY_MS = 500;

export class DescriptorSource {
  private protos: DescriptorPool | undefined;
  private set: DescriptorSet;
  private readonly states = new Map<string, ClusterState>();
  /** When each schema hash was first seen: the newest wins when endpoints disagree. */
  private readonly firstSeen = new Map<string, number>();
  private seenCounter = 0;
  private clusters: ReadonlyMap<string, Cluster> = new Map();
  private unwatch: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private soon: TimerHandle | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Called with each new set, after it replaced the old one. */
  onChange: (set: DescriptorSet) => void = () => {};

  /** Reads the .proto files (throws ProtoLoadError, HttpRuleError): before any socket opens. */
  constructor(
    private config: DescriptorsConfig,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.protos = this.readProtos(config);
    this.set = this.build();
  }

  get current(): DescriptorSet {
    return this.set;
  }

  /**
   * A reloaded config: the .proto files are read again (throws, leaving everything as it was),
   * then the set is rebuilt and, if it changed, replaces the current one.
   */
  reconfigure(config: DescriptorsConfig): void {
    const protos = this.readProtos(config);
    const previous = { config: this.config, protos: this.protos };
    this.config = config;
    this.protos = protos;
    try {
      this.commit(this.build());
    } catch (err) {
      this.config = previous.config;
      this.protos = previous.protos;
      throw err;
    }
  }

  /** Follows these clusters (at start and after each reload) and refreshes now. */
  watch(clusters: ReadonlyMap<string, Cluster>): void {
    for (const u of this.unwatch) u();
    this.unwatch = [];
    this.clusters = clusters;
    const reflection = this.config.reflection;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (reflection === undefined || this.closed) return;
    for (const name of this.reflectedClusters()) {
      const cluster = clusters.get(name);
      if (cluster === undefined) continue;
      this.unwatch.push(
        cluster.watchResolver((event) => {
          if (event.kind === 'update') this.refreshSoon(ENDPOINT_CHANGE_DELAY_MS);
        }),
      );
    }
    this.refreshSoon(0);
  }

  /** Asks every endpoint again; resolves when the new set (if any) is in place. */
  refresh(): Promise<void> {
    if (this.refreshing !== undefined) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = this.runRefresh().finally(() => {
      this.refreshing = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.refreshing;
  }

  view(): DescriptorsView {
    const reflection: ClusterSchemaView[] = [];
    for (const name of this.config.reflection === undefined ? [] : this.reflectedClusters()) {
      const s = this.states.get(name);
      reflection.push({
        cluster: name,
        hash: s?.chosen?.hash,
        services: s?.chosen?.services ?? [],
        fetchedAt: s?.fetchedAt ?? 0,
        skew: (s?.versions ?? 0) > 1,
        versions: s?.versions ?? 0,
        endpoints: s?.endpoints ?? [],
        fetchErrors: s?.fetchErrors ?? 0,
      });
    }
    return {
      hash: schemaHash(this.set.pool.files),
      withoutRules: this.set.withoutRules,
      reflection,
    };
  }

  close(): void {
    this.closed = true;
    for (const u of this.unwatch) u();
    this.unwatch = [];
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.soon !== undefined) this.clock.clearTimeout(this.soon);
  }

  private reflectedClusters(): readonly string[] {
    return this.config.reflection?.clusters ?? [...this.clusters.keys()];
  }

  private refreshSoon(ms: number): void {
    if (this.closed || this.soon !== undefined) return;
    this.soon = this.clock.setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, ms);
  }

  private async runRefresh(): Promise<void> {
    const reflection = this.config.reflection;
    if (reflection === undefined || this.closed) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    await Promise.all(
      this.reflectedClusters().map((name) => this.refreshCluster(name, reflection.timeoutMs)),
    );
    if (this.closed) return;
    try {
      this.commit(this.build());
    } catch (err) {
      this.logger.error(
        { error: describeError(err) },
        'descriptors from reflection cannot be used; the previous set stays',
      );
    }
    this.timer = this.clock.setTimeout(() => void this.refresh(), reflection.refreshMs);
  }

  private async refreshCluster(name: string, timeoutMs: number): Promise<void> {
    const cluster = this.clusters.get(name);
    let state = this.states.get(name);
    if (state === undefined) {
      state = { chosen: undefined, fetchedAt: 0, endpoints: [], versions: 0, fetchErrors: 0 };
      this.states.set(name, state);
    }
    if (cluster === undefined) return;
    const pools = cluster.endpointPools();
    const results = await Promise.all(
      pools.map(async (pool) => {
        try {
          const schema = await fetchSchema(
            pool.authority,
            endpointReflectionCall(pool, timeoutMs, this.clock),
          );
          return { endpoint: pool.authority, schema };
        } catch (err) {
          return { endpoint: pool.authority, error: describeError(err) };
        }
      }),
    );
    const hashes = new Map<string, ReflectedSchema>();
    const endpoints: EndpointSchemaView[] = [];
    for (const r of results) {
      if (r.schema !== undefined) {
        hashes.set(r.schema.hash, r.schema);
        if (!this.firstSeen.has(r.schema.hash))
          this.firstSeen.set(r.schema.hash, ++this.seenCounter);
        endpoints.push({ endpoint: r.endpoint, hash: r.schema.hash });
      } else {
        state.fetchErrors++;
        endpoints.push({ endpoint: r.endpoint, error: r.error });
        this.logger.warn({ cluster: name, endpoint: r.endpoint }, r.error ?? 'reflection failed');
      }
    }
    state.endpoints = endpoints;
    state.versions = hashes.size;
    if (hashes.size === 0) return; // the last good schema stays
    let newest: ReflectedSchema | undefined;
    for (const s of hashes.values()) {
      if (newest === undefined || this.firstSeen.get(s.hash)! > this.firstSeen.get(newest.hash)!) {
        newest = s;
      }
    }
    if (hashes.size > 1) {
      this.logger.warn(
        {
          cluster: name,
          schemas: Object.fromEntries(endpoints.map((e) => [e.endpoint, e.hash ?? e.error])),
          using: newest!.hash,
        },
        'endpoints of one cluster serve different descriptors; using the newest',
      );
    }
    if (state.chosen?.hash !== newest!.hash) {
      this.logger.info(
        { cluster: name, hash: newest!.hash, api: newest!.api, services: newest!.services },
        'descriptors fetched by reflection',
      );
    }
    state.chosen = newest;
    state.fetchedAt = Date.now();
  }

  private readProtos(config: DescriptorsConfig): DescriptorPool | undefined {
    return config.protos.files.length > 0 ? loadProtos(config.protos) : undefined;
  }

  private build(): DescriptorSet {
    const rules = this.config.httpRules.map((r) => ({
      rule: r.rule as JsonValue,
      source: r.source,
    }));
    if (this.config.reflection === undefined)
      return buildDescriptorSet(undefined, this.protos, rules);
    const files = new Map<string, Uint8Array>();
    for (const name of this.reflectedClusters()) {
      for (const [file, bytes] of this.states.get(name)?.chosen?.files ?? []) {
        if (!files.has(file)) files.set(file, bytes);
      }
    }
    if (files.size === 0 && this.protos === undefined) {
      // Nothing fetched yet: no routes, and the config's rules wait for their methods.
      return buildDescriptorSet(files, undefined, []);
    }
    return buildDescriptorSet(files, this.protos, files.size === 0 ? [] : rules);
  }

  private commit(next: DescriptorSet): void {
    if (
      schemaHash(next.pool.files) === schemaHash(this.set.pool.files) &&
      sameRoutes(next, this.set)
    ) {
      return;
    }
    this.set = next;
    for (const service of next.withoutRules) {
      this.logger.warn(
        { service, code: 'SWY_ERR_REFLECTION' },
        `service ${service} has no google.api.http rules in its descriptors (Node's @grpc/reflection drops them): REST calls to it get 404; give the rules with --proto FILE or descriptors.httpRules`,
      );
    }
    this.onChange(next);
  }
}

function sameRoutes(a: DescriptorSet, b: DescriptorSet): boolean {
  if (a.routes.length !== b.routes.length) return false;
  return a.routes.every(
    (r, i) =>
      r.httpMethod === b.routes[i].httpMethod &&
      r.source === b.routes[i].source &&
      r.grpcPath === b.routes[i].grpcPath,
  );
}
