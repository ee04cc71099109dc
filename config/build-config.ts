// From a checked file to the validated Config: names and defaults filled in, the checks that
// span keys (duplicates, routes to clusters, policies and resolver options), and renaming.
import { formatSocketAddress } from './address.js';
import { didYouMean } from '../common/closest-name.js';
import { parseTarget, TargetError, type Target } from '../common/target.js';
import { clip, describeValue, type KeyPath } from './config-error.js';
import { DEFAULT_ACCESS_LOG, DEFAULT_CLUSTER } from './defaults.js';
import { parseDuration } from './duration.js';
import { buildFilters, type CheckedFilter } from './build-filters.js';
import { KeyPathSet } from './key-path-set.js';
import { isMapping, type ShapeIssue } from './shape.js';
import { statusCodeOf } from './status-codes.js';
import type {
  FilterConfig,
  AdminConfig,
  BalancerConfig,
  ClusterConfig,
  Config,
  ConnectConfig,
  DescriptorsConfig,
  HeaderMatch,
  HedgingPolicyConfig,
  ListenerConfig,
  RouteConfig,
  ResolverBlockConfig,
  RetryPolicyConfig,
  RouteMatch,
  SocketAddress,
  PeerLabel,
  TlsVersion,
} from './types.js';
import type { BlockIssue, ConfigValidators } from './validators.js';

// What CONFIG_SHAPE hands over: YAML key names, durations in ms, defaults filled. A value whose
// check failed is undefined, so everything here tolerates holes (issues are already recorded).
interface CheckedListener {
  name?: string;
  filters?: (CheckedFilter | undefined)[];
  address?: SocketAddress;
  tls?: {
    cert?: string;
    key?: string;
    ca?: string;
    requireClientCert: boolean;
    minVersion: TlsVersion;
    ciphers?: string;
    watch: boolean;
    expiryWarningDays: number;
    peerLabel?: PeerLabel;
  };
  handshakeTimeout: number;
  idleTimeout: number;
  maxConcurrentStreams: number;
  stalledStreamTimeout: number;
  connectionBufferLimit: number;
  maxFilteredMessageSize: number;
  resetLimit?: { burst: number; rate: number };
  pingAfterSilence: number;
  pingTimeout: number;
  closeTimeout: number;
  connect?: {
    clusters?: Record<string, string | undefined>;
    passthrough?: (string | undefined)[];
    tls?: { cert?: string; key?: string };
    idleTimeout: number;
    users?: ({ user?: string; password?: string } | undefined)[];
  };
  gateway?: {
    grpcWeb: boolean;
    openapi: string;
    cors?: {
      allowOrigins?: (string | undefined)[];
      allowMethods?: (string | undefined)[];
      allowHeaders?: (string | undefined)[];
      exposeHeaders?: (string | undefined)[];
      maxAge: number;
      allowCredentials: boolean;
    };
    rest: boolean;
    forwardHeaders?: (string | undefined)[];
    maxBodySize: number;
    emitDefaults: boolean;
    useProtoNames: boolean;
  };
}

interface CheckedDescriptors {
  protos?: { files?: (string | undefined)[]; importPaths: (string | undefined)[] };
  reflection?: { clusters?: (string | undefined)[]; refresh: number; timeout: number };
  serveReflection: boolean;
  httpRules: (Record<string, unknown> | undefined)[];
}

interface CheckedHeaderMatch {
  name?: string;
  exact?: string;
  prefix?: string;
  regex?: string;
  present?: boolean;
}

interface CheckedRetryPolicy {
  maxAttempts?: number;
  initialBackoff?: number;
  maxBackoff?: number;
  backoffMultiplier?: number;
  retryableStatusCodes?: (number | string | undefined)[];
  perTryTimeout?: number;
  retryClientRetries: boolean;
}

interface CheckedHedgingPolicy {
  maxAttempts?: number;
  hedgingDelay: number;
  nonFatalStatusCodes: (number | string | undefined)[];
}

interface CheckedRoute {
  name?: string;
  match?: { service?: string; method?: string; prefix?: string; headers?: CheckedHeaderMatch[] };
  cluster?: string;
  retryPolicy?: CheckedRetryPolicy | 'off';
  hedgingPolicy?: CheckedHedgingPolicy;
  filters?: (CheckedFilter | undefined)[];
}

interface CheckedCluster {
  target?: string;
  balancer: unknown;
  timeouts?: { default?: number; max?: number; connect: number };
  authority?: string;
  tls?: {
    ca?: string;
    cert?: string;
    key?: string;
    serverName?: string;
    insecureSkipVerify: boolean;
  };
  proxy?: string;
  keepalive?: { time: number; timeout: number; idleTime: number };
  resetLimit?: { burst: number; rate: number };
  idleTimeout: number;
  panicThreshold: number;
  healthCheck?: {
    service: string;
    interval: number;
    timeout: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
  };
  outlierDetection?: {
    consecutiveFailures: number;
    failureRateThreshold?: number;
    minimumCalls: number;
    interval: number;
    baseEjection: number;
    maxEjection: number;
    maxEjectedShare: number;
  };
  retryPolicy?: CheckedRetryPolicy;
  hedgingPolicy?: CheckedHedgingPolicy;
  retryThrottling?: { maxTokens?: number; tokenRatio?: number };
  retryBudget?: { percent: number; minRetriesPerSecond: number };
  circuitBreakers?: {
    maxConcurrentCalls: number;
    maxPendingCalls: number;
    maxConcurrentRetries: number;
  };
  resolver: unknown;
}

export interface CheckedConfig {
  listeners?: (CheckedListener | undefined)[];
  routes?: (CheckedRoute | undefined)[];
  clusters?: Record<string, CheckedCluster | undefined>;
  admin?: {
    address?: SocketAddress;
    tls?: { cert?: string; key?: string; ca?: string; minVersion: TlsVersion };
    auth?: { token?: string; clientCert: boolean; protect: 'writes' | 'all' };
  };
  workers: number | 'auto';
  log: Config['log'];
  /** Undefined when it is not a mapping (a problem is recorded then). */
  accessLog?: { sample: number; destination: string };
  shutdownGrace: number;
  descriptors?: CheckedDescriptors;
}

export interface BuildContext {
  readonly validators: ConfigValidators;
  readonly issues: ShapeIssue[];
  resolveFile(path: string): string;
  /** `file:line:col` of a value, for messages made after validation (HTTP rules). */
  locate?(path: KeyPath): string;
}

/** The Config for a checked file; meaningful only when no issue was recorded. */
export function buildConfig(checked: CheckedConfig, ctx: BuildContext): Config {
  const issue: IssueFn = (path, message, on, detail) =>
    ctx.issues.push({ path, message, ...(on ? { on } : {}), ...(detail ? { detail } : {}) });
  const failed = failedCheck(ctx);

  const locate = (path: KeyPath): string =>
    ctx.locate?.(path) ?? path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  // `filters` only where there are some, so a config without filters is what it was before.
  const withFilters = <T extends object>(value: T, filters: FilterConfig[]): T =>
    filters.length === 0 ? value : { ...value, filters };
  const listeners = (checked.listeners ?? []).map((l, i) =>
    withFilters(
      buildListener(l, i),
      buildFilters(l?.filters, ['listeners', i, 'filters'], issue, locate, failed),
    ),
  );
  uniqueNames(
    listeners.map((l) => l.name),
    (checked.listeners ?? []).map((l) => l?.name !== undefined),
    'listeners',
    issue,
  );
  const bound = new Map<string, string>();
  const claim = (address: SocketAddress | undefined, owner: string, path: KeyPath) => {
    // Port 0 picks a free port each time, so two of them never clash.
    if (address === undefined || address.port === 0) return;
    const key = formatSocketAddress(address);
    const other = bound.get(key);
    if (other !== undefined) issue(path, `${key} is already used by ${other}`);
    else bound.set(key, owner);
  };
  listeners.forEach((l, i) =>
    claim(l.address, `listener "${l.name}"`, ['listeners', i, 'address']),
  );
  (checked.listeners ?? []).forEach((l, i) => {
    const at = ['listeners', i, 'tls'];
    if (l?.tls?.requireClientCert && l.tls.ca === undefined && !failed([...at, 'ca'])) {
      issue([...at, 'requireClientCert'], 'needs `ca` to check client certificates against');
    }
    if (l?.tls?.peerLabel !== undefined && l.tls.ca === undefined && !failed([...at, 'ca'])) {
      issue([...at, 'peerLabel'], 'needs `ca`: only a verified client certificate has an identity');
    }
  });

  let admin: AdminConfig | undefined;
  if (checked.admin?.address !== undefined) {
    admin = buildAdmin(checked.admin, failed, issue);
    claim(admin.address, 'the admin listener', ['admin', 'address']);
  }

  const clusterEntries = Object.entries(checked.clusters ?? {});
  const clusters = clusterEntries.map(([name, c]) => buildCluster(name, c, ctx, failed, issue));
  const clusterNames = clusterEntries.map(([name]) => name);
  const known = new KnownClusters(clusterNames);

  (checked.listeners ?? []).forEach((l, i) => {
    for (const [authority, cluster] of Object.entries(l?.connect?.clusters ?? {})) {
      if (cluster !== undefined)
        known.check(cluster, ['listeners', i, 'connect', 'clusters', authority], issue);
    }
  });

  let routes: RouteConfig[];
  if (checked.routes !== undefined) {
    routes = checked.routes.map((r, i) =>
      withFilters(
        buildRoute(r, i, known, issue),
        buildFilters(r?.filters, ['routes', i, 'filters'], issue, locate, failed),
      ),
    );
    uniqueNames(
      routes.map((r) => r.name),
      checked.routes.map((r) => r?.name !== undefined),
      'routes',
      issue,
    );
  } else if (clusterNames.length === 1) {
    routes = [{ name: 'default', match: { headers: [] }, cluster: clusterNames[0] }];
  } else {
    routes = [];
    if (clusterNames.length > 1) {
      issue(
        ['clusters'],
        `${clusterNames.length} clusters and no routes: add routes to say which calls go to which cluster`,
        'key',
      );
    }
  }

  const d = checked.descriptors;
  if (d !== undefined && d.protos === undefined && d.reflection === undefined) {
    issue(
      ['descriptors'],
      'needs `protos:` (.proto files), `reflection:` (ask the backends), or both',
      'key',
    );
  }
  (d?.reflection?.clusters ?? []).forEach((c, i) => {
    if (c !== undefined) known.check(c, ['descriptors', 'reflection', 'clusters', i], issue);
  });

  (checked.listeners ?? []).forEach((l, i) => {
    if (l?.gateway?.rest === true && checked.descriptors === undefined) {
      issue(
        ['listeners', i, 'gateway'],
        'REST needs a top-level `descriptors:` block (protos) to know the services and HTTP rules (gRPC-Web alone needs none: `rest: false`)',
        'key',
      );
    }
  });

  // Not a mapping (`accessLog: false`): a problem is recorded and the file refused; the default
  // only lets the rest be checked.
  const accessLog = checked.accessLog ?? DEFAULT_ACCESS_LOG;
  const destination = accessLog.destination;
  return {
    listeners,
    routes,
    clusters,
    admin,
    workers: checked.workers,
    log: checked.log,
    accessLog: {
      sample: accessLog.sample,
      destination:
        destination === undefined || destination === 'stdout' || destination === 'stderr'
          ? destination
          : ctx.resolveFile(destination),
    },
    shutdownGraceMs: checked.shutdownGrace,
    ...(checked.descriptors !== undefined
      ? { descriptors: buildDescriptors(checked.descriptors, ctx) }
      : {}),
  };
}

function buildDescriptors(d: CheckedDescriptors, ctx: BuildContext): DescriptorsConfig {
  return {
    protos: {
      files: (d.protos?.files ?? []).map((f) => f ?? ''),
      importPaths: (d.protos?.importPaths ?? []).map((p) => ctx.resolveFile(p ?? '')),
    },
    reflection:
      d.reflection === undefined
        ? undefined
        : {
            clusters: d.reflection.clusters?.map((c) => c ?? ''),
            refreshMs: d.reflection.refresh,
            timeoutMs: d.reflection.timeout,
          },
    serveReflection: d.serveReflection,
    httpRules: d.httpRules.map((rule, i) => ({
      rule: withoutUndefined(rule ?? {}),
      source: ctx.locate?.(['descriptors', 'httpRules', i]) ?? `descriptors.httpRules[${i}]`,
    })),
  };
}

function buildListener(l: CheckedListener | undefined, i: number): ListenerConfig {
  const tls = l?.tls;
  return {
    name: l?.name ?? (i === 0 ? 'main' : `listener-${i + 1}`),
    address: l?.address as SocketAddress,
    tls:
      tls === undefined
        ? undefined
        : {
            certFile: tls.cert as string,
            keyFile: tls.key as string,
            caFile: tls.ca,
            requireClientCert: tls.requireClientCert,
            minVersion: tls.minVersion,
            ciphers: tls.ciphers,
            watch: tls.watch,
            expiryWarningDays: tls.expiryWarningDays,
            ...(tls.peerLabel !== undefined && { peerLabel: tls.peerLabel }),
          },
    handshakeTimeoutMs: l?.handshakeTimeout as number,
    idleTimeoutMs: l?.idleTimeout as number,
    maxConcurrentStreams: l?.maxConcurrentStreams as number,
    stalledStreamTimeoutMs: l?.stalledStreamTimeout as number,
    connectionBufferLimit: l?.connectionBufferLimit as number,
    maxFilteredMessageBytes: l?.maxFilteredMessageSize as number,
    resetLimit: {
      burst: l?.resetLimit?.burst as number,
      rate: l?.resetLimit?.rate as number,
    },
    pingAfterSilenceMs: l?.pingAfterSilence as number,
    pingTimeoutMs: l?.pingTimeout as number,
    closeTimeoutMs: l?.closeTimeout as number,
    connect: buildConnect(l?.connect),
    ...(l?.gateway !== undefined && {
      gateway: {
        grpcWeb: l.gateway.grpcWeb,
        openapiPath: l.gateway.openapi,
        ...(l.gateway.cors !== undefined && {
          cors: {
            allowOrigins: (l.gateway.cors.allowOrigins ?? []).map((h) => h ?? ''),
            allowMethods: (l.gateway.cors.allowMethods ?? []).map((h) => h ?? ''),
            allowHeaders: (l.gateway.cors.allowHeaders ?? []).map((h) => h ?? ''),
            exposeHeaders: (l.gateway.cors.exposeHeaders ?? []).map((h) => h ?? ''),
            maxAgeSeconds: Math.floor(l.gateway.cors.maxAge / 1000),
            allowCredentials: l.gateway.cors.allowCredentials,
          },
        }),
        rest: l.gateway.rest,
        forwardHeaders: (l.gateway.forwardHeaders ?? []).map((h) => h ?? ''),
        maxBodyBytes: l.gateway.maxBodySize,
        emitDefaults: l.gateway.emitDefaults,
        useProtoNames: l.gateway.useProtoNames,
      },
    }),
  };
}

function buildAdmin(
  a: NonNullable<CheckedConfig['admin']>,
  failed: (path: KeyPath) => boolean,
  issue: IssueFn,
): AdminConfig {
  const { tls, auth } = a;
  if (auth !== undefined) {
    if (auth.clientCert && tls?.ca === undefined && !failed(['admin', 'tls', 'ca'])) {
      issue(
        ['admin', 'auth', 'clientCert'],
        'needs `admin.tls.ca` to check client certificates against',
      );
    }
    if (auth.token === undefined && !auth.clientCert && !failed(['admin', 'auth', 'token'])) {
      issue(['admin', 'auth'], 'names no credential: set `token`, or `clientCert: true`', 'key');
    }
  }
  return {
    address: a.address as SocketAddress,
    ...(tls === undefined
      ? {}
      : {
          tls: {
            certFile: tls.cert as string,
            keyFile: tls.key as string,
            caFile: tls.ca,
            minVersion: tls.minVersion,
          },
        }),
    ...(auth === undefined
      ? {}
      : { auth: { token: auth.token, clientCert: auth.clientCert, protect: auth.protect } }),
  };
}

function buildConnect(c: CheckedListener['connect']): ConnectConfig | undefined {
  if (c === undefined) return undefined;
  // Host names compare case-insensitively; the map is keyed the way lookups are made.
  const clusters: Record<string, string> = {};
  for (const [authority, cluster] of Object.entries(c.clusters ?? {})) {
    clusters[authority.toLowerCase()] = cluster ?? '';
  }
  return {
    clusters,
    passthrough: (c.passthrough ?? []).map((p) => p ?? ''),
    tls:
      c.tls === undefined
        ? undefined
        : { certFile: c.tls.cert as string, keyFile: c.tls.key as string },
    idleTimeoutMs: c.idleTimeout,
    users: (c.users ?? []).map((u) => ({
      user: u?.user as string,
      password: u?.password as string,
    })),
  };
}

type IssueFn = (path: KeyPath, message: string, on?: 'key', detail?: () => string) => void;

/**
 * Whether a check already failed at or under a path (its value is then a hole, not absent). The
 * shape checks' problems are all in when building starts; building adds none under the paths asked.
 */
function failedCheck(ctx: BuildContext): (path: KeyPath) => boolean {
  const failed = new KeyPathSet(ctx.issues.map((i) => i.path));
  return (path) => failed.reaches(path);
}

/** Names shown after "defined:" before the rest are counted. */
const LISTED_CLUSTERS = 10;

/** The cluster names a route or tunnel may use, and the problem with one that is not there. */
class KnownClusters {
  private readonly names: ReadonlySet<string>;
  constructor(private readonly list: readonly string[]) {
    this.names = new Set(list);
  }

  check(cluster: string, path: KeyPath, issue: IssueFn): void {
    if (this.names.has(cluster)) return;
    const list = this.list;
    issue(path, `unknown cluster "${clip(cluster)}"`, undefined, () => {
      if (list.length === 0) return '';
      const shown = list.slice(0, LISTED_CLUSTERS).join(', ');
      const more =
        list.length > LISTED_CLUSTERS ? ` and ${list.length - LISTED_CLUSTERS} more` : '';
      return `${didYouMean(cluster, list)}; defined: ${shown}${more}`;
    });
  }
}

/** Flags the second and later uses of a name; `given` says whether it was written or defaulted. */
function uniqueNames(names: string[], given: boolean[], list: string, issue: IssueFn): void {
  const first = new Map<string, number>();
  names.forEach((name, i) => {
    const j = first.get(name);
    if (j === undefined) {
      first.set(name, i);
      return;
    }
    const path = given[i] ? [list, i, 'name'] : [list, i];
    issue(path, `duplicate name "${clip(name)}" (also ${list}[${j}])`);
  });
}

/** Checks what the shapes cannot: a backoff that grows, and A6's one policy of the two. */
function checkPolicies(
  rp: CheckedRetryPolicy | undefined,
  hp: CheckedHedgingPolicy | undefined,
  at: KeyPath,
  what: string,
  issue: IssueFn,
): void {
  if (rp?.backoffMultiplier === 0) {
    issue([...at, 'retryPolicy', 'backoffMultiplier'], 'must be above 0');
  }
  if (
    rp?.initialBackoff !== undefined &&
    rp.maxBackoff !== undefined &&
    rp.initialBackoff > rp.maxBackoff
  ) {
    issue([...at, 'retryPolicy', 'initialBackoff'], 'must not exceed maxBackoff');
  }
  if (rp !== undefined && hp !== undefined) {
    issue([...at, 'hedgingPolicy'], `${what} has retryPolicy or hedgingPolicy, not both (gRFC A6)`);
  }
}

function buildRetryPolicy(rp: CheckedRetryPolicy | undefined): RetryPolicyConfig | undefined {
  if (rp === undefined) return undefined;
  return {
    // gRFC A6: "values greater than 5 are treated as 5".
    maxAttempts: Math.min(rp.maxAttempts as number, 5),
    initialBackoffMs: rp.initialBackoff as number,
    maxBackoffMs: rp.maxBackoff as number,
    backoffMultiplier: rp.backoffMultiplier as number,
    retryableStatusCodes: [
      ...new Set((rp.retryableStatusCodes ?? []).map((code) => statusCodeOf(code) ?? -1)),
    ],
    perTryTimeoutMs: rp.perTryTimeout,
    retryClientRetries: rp.retryClientRetries,
  };
}

function buildHedgingPolicy(hp: CheckedHedgingPolicy | undefined): HedgingPolicyConfig | undefined {
  if (hp === undefined) return undefined;
  return {
    maxAttempts: Math.min(hp.maxAttempts as number, 5),
    hedgingDelayMs: hp.hedgingDelay,
    nonFatalStatusCodes: [
      ...new Set(hp.nonFatalStatusCodes.map((code) => statusCodeOf(code) ?? -1)),
    ],
  };
}

function buildRoute(
  r: CheckedRoute | undefined,
  i: number,
  clusters: KnownClusters,
  issue: IssueFn,
): RouteConfig {
  const at = ['routes', i];
  const m = r?.match;
  const match: { -readonly [K in keyof RouteMatch]: RouteMatch[K] } = { headers: [] };
  if (m?.service !== undefined) match.service = m.service;
  if (m?.method !== undefined) {
    match.method = m.method;
    if (m.service === undefined) {
      issue(
        [...at, 'match', 'method'],
        'needs `service` (a method name alone could belong to any service)',
      );
    }
  }
  if (m?.prefix !== undefined) match.prefix = m.prefix;
  match.headers = (m?.headers ?? []).map((h, j) => {
    const out: { -readonly [K in keyof HeaderMatch]: HeaderMatch[K] } = { name: h?.name ?? '' };
    const kinds = (['exact', 'prefix', 'regex', 'present'] as const).filter(
      (k) => h?.[k] !== undefined,
    );
    if (kinds.length > 1) {
      issue(
        [...at, 'match', 'headers', j, kinds[1]],
        `a header match takes one of exact, prefix, regex or present; this one has ${kinds.join(' and ')}`,
      );
    }
    for (const k of kinds) (out as Record<string, unknown>)[k] = h?.[k];
    return out;
  });
  const cluster = r?.cluster;
  if (cluster !== undefined) clusters.check(cluster, [...at, 'cluster'], issue);
  const off = r?.retryPolicy === 'off';
  const checkedRetry = off ? undefined : (r?.retryPolicy as CheckedRetryPolicy | undefined);
  checkPolicies(checkedRetry, r?.hedgingPolicy, at, 'a route', issue);
  const route: RouteConfig = { name: r?.name ?? `route-${i + 1}`, match, cluster: cluster ?? '' };
  const retryPolicy = off ? 'off' : buildRetryPolicy(checkedRetry);
  const hedgingPolicy = buildHedgingPolicy(r?.hedgingPolicy);
  if (retryPolicy === undefined && hedgingPolicy === undefined) return route;
  return { ...route, retryPolicy, hedgingPolicy };
}

function buildCluster(
  name: string,
  c: CheckedCluster | undefined,
  ctx: BuildContext,
  failed: (path: KeyPath) => boolean,
  issue: IssueFn,
): ClusterConfig {
  const at = ['clusters', name];
  const target =
    c?.target === undefined ? undefined : buildTarget(c.target, [...at, 'target'], issue);
  const balancer = buildBalancer(c?.balancer, [...at, 'balancer'], ctx, issue);
  const block = blockWithDurations(c?.resolver ?? {}, [...at, 'resolver'], issue);
  let resolver: ResolverBlockConfig = {};
  if (block !== undefined && target !== undefined) {
    const parsed = ctx.validators.parseResolverBlock(target, block);
    if (parsed.issues === undefined) resolver = parsed.value;
    else
      for (const p of parsed.issues) {
        issue([...at, 'resolver', ...splitPath(p)], p.message, placeOf(p));
      }
  }

  const t = c?.timeouts;
  if (t?.default !== undefined && t.max !== undefined && t.default > t.max) {
    issue([...at, 'timeouts', 'default'], 'must not exceed timeouts.max');
  }
  const tls = c?.tls;
  const tlsHoles = failed([...at, 'tls', 'cert']) || failed([...at, 'tls', 'key']);
  if (tls !== undefined && !tlsHoles && (tls.cert === undefined) !== (tls.key === undefined)) {
    issue(
      [...at, 'tls'],
      tls.cert === undefined
        ? 'has `key` but no `cert` (a client certificate needs both)'
        : 'has `cert` but no `key` (a client certificate needs both)',
    );
  }
  if (c?.proxy !== undefined && c.proxy !== 'none') {
    const problem = ctx.validators.proxyProblem(c.proxy);
    if (problem !== undefined) issue([...at, 'proxy'], problem);
  }
  const od = c?.outlierDetection;
  if (od !== undefined && od.baseEjection > od.maxEjection) {
    issue([...at, 'outlierDetection', 'baseEjection'], 'must not exceed maxEjection');
  }
  if (
    od?.consecutiveFailures === 0 &&
    od.failureRateThreshold === undefined &&
    !failed([...at, 'outlierDetection', 'failureRateThreshold'])
  ) {
    issue(
      [...at, 'outlierDetection', 'consecutiveFailures'],
      '0 with no failureRateThreshold turns every rule off (remove outlierDetection instead)',
    );
  }
  const rp = c?.retryPolicy;
  const hp = c?.hedgingPolicy;
  checkPolicies(rp, hp, at, 'a cluster', issue);
  const rt = c?.retryThrottling;
  if (rt?.maxTokens === 0) issue([...at, 'retryThrottling', 'maxTokens'], 'must be above 0');
  if (rt?.tokenRatio === 0) issue([...at, 'retryThrottling', 'tokenRatio'], 'must be above 0');
  const hc = c?.healthCheck;
  return {
    name,
    target: c?.target ?? '',
    // A hole only when an issue was recorded, and then the Config is not used.
    parsedTarget: target as Target,
    balancer,
    timeouts: { defaultMs: t?.default, maxMs: t?.max, connectMs: t?.connect as number },
    authority: c?.authority,
    tls:
      tls === undefined
        ? undefined
        : {
            caFile: tls.ca,
            certFile: tls.cert,
            keyFile: tls.key,
            serverName: tls.serverName,
            insecureSkipVerify: tls.insecureSkipVerify,
          },
    proxy: c?.proxy,
    keepalive: {
      timeMs: c?.keepalive?.time as number,
      timeoutMs: c?.keepalive?.timeout as number,
      idleTimeMs: c?.keepalive?.idleTime as number,
    },
    resetLimit: {
      burst: c?.resetLimit?.burst as number,
      rate: c?.resetLimit?.rate as number,
    },
    idleTimeoutMs: c?.idleTimeout as number,
    panicThreshold: c?.panicThreshold as number,
    healthCheck:
      hc === undefined
        ? undefined
        : {
            service: hc.service,
            intervalMs: hc.interval,
            timeoutMs: hc.timeout,
            healthyThreshold: hc.healthyThreshold,
            unhealthyThreshold: hc.unhealthyThreshold,
          },
    outlierDetection:
      od === undefined
        ? undefined
        : {
            consecutiveFailures: od.consecutiveFailures,
            failureRateThreshold: od.failureRateThreshold,
            minimumCalls: od.minimumCalls,
            intervalMs: od.interval,
            baseEjectionMs: od.baseEjection,
            maxEjectionMs: od.maxEjection,
            maxEjectedShare: od.maxEjectedShare,
          },
    retryPolicy: buildRetryPolicy(rp),
    hedgingPolicy: buildHedgingPolicy(hp),
    retryThrottling:
      rt === undefined
        ? undefined
        : {
            maxTokens: rt.maxTokens as number,
            // A6 keeps three decimal places.
            tokenRatio: Math.round((rt.tokenRatio as number) * 1000) / 1000,
          },
    retryBudget: {
      percent: c?.retryBudget?.percent as number,
      minRetriesPerSecond: c?.retryBudget?.minRetriesPerSecond as number,
    },
    circuitBreakers: {
      maxConcurrentCalls: c?.circuitBreakers?.maxConcurrentCalls as number,
      maxPendingCalls: c?.circuitBreakers?.maxPendingCalls as number,
      maxConcurrentRetries: c?.circuitBreakers?.maxConcurrentRetries as number,
    },
    resolver,
  };
}

/** The parsed target, or undefined with the parser's problem recorded. */
function buildTarget(text: string, at: KeyPath, issue: IssueFn): Target | undefined {
  try {
    return parseTarget(text);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    issue(at, err.message);
    return undefined;
  }
}

/** `least_loaded`, or `{ policy: least_loaded, decayMs: 5s }`. */
function buildBalancer(
  raw: unknown,
  at: KeyPath,
  ctx: BuildContext,
  issue: IssueFn,
): BalancerConfig {
  const fallback: BalancerConfig = DEFAULT_CLUSTER.balancer;
  if (typeof raw === 'string') {
    const problem = ctx.validators.validatePolicyName(raw);
    if (problem !== undefined) {
      issue(at, problem);
      return fallback;
    }
    const parsed = ctx.validators.parsePolicy(raw, {});
    for (const p of parsed.issues ?? []) issue([...at, ...splitPath(p)], p.message, placeOf(p));
    return parsed.issues === undefined ? parsed.value : fallback;
  }
  if (!isMapping(raw)) {
    issue(at, `must be a policy name or { policy: NAME, …settings }, got ${describeValue(raw)}`);
    return fallback;
  }
  const { policy, ...rest } = raw;
  if (policy === undefined || policy === null) {
    issue(at, 'missing required key "policy"');
    return fallback;
  }
  if (typeof policy !== 'string') {
    issue([...at, 'policy'], `must be a policy name, got ${describeValue(policy)}`);
    return fallback;
  }
  const settings = blockWithDurations(rest, at, issue);
  const problem = ctx.validators.validatePolicyName(policy);
  if (problem !== undefined) {
    issue([...at, 'policy'], problem);
    return fallback;
  }
  if (settings === undefined) return fallback;
  const parsed = ctx.validators.parsePolicy(policy, settings);
  if (parsed.issues === undefined) return parsed.value;
  for (const p of parsed.issues) issue([...at, ...splitPath(p)], p.message, placeOf(p));
  return fallback;
}

/**
 * A settings block with every `…Ms` duration string in milliseconds (`decayMs: 5s` → 5000);
 * undefined when the block is not a mapping or a duration is bad (both recorded).
 */
function blockWithDurations(
  raw: unknown,
  at: KeyPath,
  issue: IssueFn,
): Record<string, unknown> | undefined {
  if (!isMapping(raw)) {
    issue(at, `must be a mapping of option names to values, got ${describeValue(raw)}`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const [key, value] of Object.entries(raw)) {
    // As everywhere else in the file, a key with no value (or null) is as good as absent.
    if (value === null || value === undefined) continue;
    if (key.endsWith('Ms') && typeof value === 'string') {
      const ms = parseDuration(value, { bareNumbers: 'ms' });
      if (typeof ms === 'string') {
        issue([...at, key], ms);
        ok = false;
      } else out[key] = ms;
    } else out[key] = value;
  }
  return ok ? out : undefined;
}

/** An unknown key is best shown at the key itself; any other problem at the value. */
function placeOf(issue: BlockIssue): 'key' | undefined {
  return issue.message.startsWith('unknown ') ? 'key' : undefined;
}

/** `'servers[1]'` → `['servers', 1]`; arrays as they are. */
function splitPath(issue: BlockIssue): (string | number)[] {
  if (typeof issue.path !== 'string') return [...issue.path];
  const out: (string | number)[] = [];
  for (const [, key, index] of issue.path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(index !== undefined ? Number(index) : key);
  }
  return out;
}

/** A checked object without the keys it did not have (absent optional keys read undefined). */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
  return out;
}
