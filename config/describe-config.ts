// A config summarised for people (`switchyard validate`): listeners, routes → clusters, and
// each cluster's target, policy, health checks and outlier detection.
import { formatSocketAddress } from './address.js';
import { DEFAULT_LISTENER } from './defaults.js';
import { formatDuration } from './duration.js';
import { redactConfig } from './redact-config.js';
import { STATUS_CODE_NAMES } from './status-codes.js';
import type {
  AdminConfig,
  ClusterConfig,
  Config,
  HeaderMatch,
  HedgingPolicyConfig,
  ListenerConfig,
  RetryPolicyConfig,
  RouteConfig,
} from './types.js';

function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  return rows.map(
    (row) =>
      indent +
      row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]) : cell)).join('  '),
  );
}

/** The client limits a listener sets away from the defaults, e.g. ", 400 streams per connection". */
function limitsText(l: ListenerConfig): string {
  const d = DEFAULT_LISTENER;
  const parts: string[] = [];
  if (l.maxConcurrentStreams !== d.maxConcurrentStreams) {
    parts.push(`${l.maxConcurrentStreams} streams per connection`);
  }
  if (l.stalledStreamTimeoutMs !== d.stalledStreamTimeoutMs) {
    parts.push(
      l.stalledStreamTimeoutMs === 0
        ? 'stalled streams kept'
        : `stalled streams reset after ${formatDuration(l.stalledStreamTimeoutMs)}`,
    );
  }
  const r = l.resetLimit;
  if (r.burst !== d.resetLimit.burst || r.rate !== d.resetLimit.rate) {
    parts.push(`resets ${r.burst} at once, then ${r.rate}/s`);
  }
  return parts.length === 0 ? '' : `, ${parts.join(', ')}`;
}

function listenerMode(l: ListenerConfig): string {
  const gateway = [
    l.gateway?.rest === true ? ', REST/JSON gateway' : '',
    l.gateway?.grpcWeb === true ? ', gRPC-Web' : '',
    l.gateway?.cors !== undefined ? ' with CORS' : '',
  ].join('');
  return listenerKind(l) + gateway + limitsText(l);
}

function listenerKind(l: ListenerConfig): string {
  let mode: string;
  if (l.tls === undefined) mode = 'h2c';
  else if (l.tls.requireClientCert) mode = 'TLS, client certificate required';
  else mode = l.tls.caFile !== undefined ? 'TLS, client certificate optional' : 'TLS';
  if (l.tls?.minVersion === 'TLSv1.3') mode += ', TLS 1.3 only';
  if (l.connect === undefined) return mode;
  const passthrough = l.connect.passthrough.length;
  const users = l.connect.users.length;
  const parts = ['CONNECT'];
  if (passthrough > 0)
    parts.push(`${passthrough} passthrough pattern${passthrough === 1 ? '' : 's'}`);
  if (users > 0) parts.push(`credentials of ${users} user${users === 1 ? '' : 's'} required`);
  return `${mode}, forward proxy (${parts.join(', ')})`;
}

function headerText(h: HeaderMatch): string {
  if (h.exact !== undefined) return `${h.name} = ${JSON.stringify(h.exact)}`;
  if (h.prefix !== undefined) return `${h.name} starts with ${JSON.stringify(h.prefix)}`;
  if (h.regex !== undefined) return `${h.name} matches /${h.regex}/`;
  if (h.present === false) return `no ${h.name}`;
  return `${h.name} present`;
}

function matchText(route: RouteConfig): string {
  const { service, method, prefix, headers } = route.match;
  const parts: string[] = [];
  if (service !== undefined && method !== undefined) parts.push(`/${service}/${method}`);
  else if (service !== undefined) parts.push(`/${service}/*`);
  if (prefix !== undefined) parts.push(`${prefix}*`);
  for (const h of headers) parts.push(headerText(h));
  return parts.length === 0 ? 'every call' : parts.join(', ');
}

function settingsText(settings: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(settings);
  if (entries.length === 0) return '';
  return ` (${entries.map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')})`;
}

/** A route's or cluster's A6 policy in a few words; undefined without one. */
function policyText(
  retry: RetryPolicyConfig | 'off' | undefined,
  hedging: HedgingPolicyConfig | undefined,
): string | undefined {
  const names = (codes: readonly number[]) =>
    codes.map((code) => STATUS_CODE_NAMES[code] ?? String(code)).join(', ');
  if (retry === 'off' && hedging === undefined) return 'no retries';
  if (retry !== undefined && retry !== 'off') {
    return `retries: up to ${retry.maxAttempts} attempts on ${names(retry.retryableStatusCodes)}`;
  }
  if (hedging !== undefined) {
    return `hedging: up to ${hedging.maxAttempts} copies, ${formatDuration(hedging.hedgingDelayMs)} apart`;
  }
  return undefined;
}

function clusterLines(c: ClusterConfig): string[] {
  const lines = [`balancer ${c.balancer.policy}${settingsText(c.balancer.settings)}`];
  const hc = c.healthCheck;
  lines.push(
    hc === undefined
      ? 'health checks off'
      : `health checks every ${formatDuration(hc.intervalMs)} (timeout ${formatDuration(hc.timeoutMs)}, ` +
          `service ${JSON.stringify(hc.service)}, down after ${hc.unhealthyThreshold}, up after ${hc.healthyThreshold})`,
  );
  const od = c.outlierDetection;
  if (od === undefined) lines.push('outlier detection off');
  else {
    const rules: string[] = [];
    if (od.consecutiveFailures > 0) rules.push(`${od.consecutiveFailures} failures in a row`);
    if (od.failureRateThreshold !== undefined) {
      rules.push(
        `${Math.round(od.failureRateThreshold * 100)} % failed of ≥ ${od.minimumCalls} calls per ${formatDuration(od.intervalMs)}`,
      );
    }
    lines.push(
      `outlier detection: eject after ${rules.join(' or ')} for ${formatDuration(od.baseEjectionMs)}` +
        `–${formatDuration(od.maxEjectionMs)}, at most ${Math.round(od.maxEjectedShare * 100)} % of endpoints`,
    );
  }
  const upstream: string[] = [];
  if (c.tls !== undefined) upstream.push(c.tls.insecureSkipVerify ? 'TLS (not verified)' : 'TLS');
  else upstream.push('h2c');
  if (c.proxy !== undefined) upstream.push(c.proxy === 'none' ? 'no proxy' : `via ${c.proxy}`);
  if (c.authority !== undefined) upstream.push(`authority ${c.authority}`);
  const t = c.timeouts;
  if (t.defaultMs !== undefined) upstream.push(`default deadline ${formatDuration(t.defaultMs)}`);
  if (t.maxMs !== undefined) upstream.push(`deadline at most ${formatDuration(t.maxMs)}`);
  lines.push(upstream.join(', '));
  const resolver = Object.keys(c.resolver);
  if (resolver.length > 0) lines.push(`resolver${settingsText(c.resolver)}`);
  const policy = policyText(c.retryPolicy, c.hedgingPolicy);
  if (policy !== undefined) lines.push(policy);
  return lines;
}

function adminText(admin: AdminConfig): string {
  const parts = [formatSocketAddress(admin.address), admin.tls === undefined ? 'HTTP' : 'HTTPS'];
  const auth = admin.auth;
  if (auth === undefined) parts.push('no credentials asked');
  else {
    const what = [
      ...(auth.token !== undefined ? ['a token'] : []),
      ...(auth.clientCert ? ['a client certificate'] : []),
    ].join(' or ');
    parts.push(
      `${what} for ${auth.protect === 'all' ? 'every path but /live, /ready' : 'POST /reload'}`,
    );
  }
  return parts.join(', ');
}

/** Several lines describing what `config` would run; secrets redacted. No trailing newline. */
export function describeConfig(config: Config): string {
  const c = redactConfig(config);
  // Loops, not push(...lines) or Math.max(...widths): spreading 200,000 arguments (a file with
  // that many routes) overflows the stack.
  const out: string[] = ['listeners:'];
  const add = (lines: readonly string[]) => {
    for (const line of lines) out.push(line);
  };
  add(table(c.listeners.map((l) => [l.name, formatSocketAddress(l.address), listenerMode(l)])));
  out.push('routes (first match wins):');
  add(
    table(
      c.routes.map((r) => {
        const policy = policyText(r.retryPolicy, r.hedgingPolicy);
        return [r.name, matchText(r), `→ ${r.cluster}${policy === undefined ? '' : `, ${policy}`}`];
      }),
    ),
  );
  out.push('clusters:');
  let width = 0;
  for (const cluster of c.clusters) width = Math.max(width, cluster.name.length);
  for (const cluster of c.clusters) {
    out.push(`  ${cluster.name.padEnd(width)}  ${cluster.target}`);
    for (const line of clusterLines(cluster)) out.push(`  ${' '.repeat(width)}  ${line}`);
  }
  if (c.descriptors !== undefined) {
    const d = c.descriptors;
    const rules = d.httpRules.length;
    const sources: string[] = [];
    if (d.protos.files.length > 0) sources.push(d.protos.files.join(', '));
    if (d.reflection !== undefined) {
      sources.push(
        `reflection from ${d.reflection.clusters?.join(', ') ?? 'every cluster'} every ${d.reflection.refreshMs / 1000} s`,
      );
    }
    out.push(
      `descriptors: ${sources.join('; ')}` +
        (rules > 0 ? `, ${rules} HTTP rule${rules === 1 ? '' : 's'} from the config` : '') +
        (d.serveReflection === false ? '' : ', reflection served on every listener'),
    );
  }
  out.push(`admin: ${c.admin === undefined ? 'off' : adminText(c.admin)}`);
  const access =
    c.accessLog.sample === 0
      ? 'off'
      : `${Math.round(c.accessLog.sample * 1000) / 10} % of calls to ${c.accessLog.destination}`;
  out.push(
    `workers: ${c.workers}, log: ${c.log.level} (${c.log.format}), access log: ${access}, ` +
      `shutdown grace: ${formatDuration(c.shutdownGraceMs)}`,
  );
  return out.join('\n');
}
