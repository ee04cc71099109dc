// The `filters:` lists of listeners and routes, from checked YAML to FilterConfig: exactly one
// filter key per entry, `module` paths already absolute, and each entry's `file:line:col` kept
// for messages about it made later (a module that fails to load).
import type { KeyPath } from './config-error.js';
import type { FilterConfig, HeaderEditsConfig } from './types.js';

type IssueFn = (path: KeyPath, message: string) => void;

interface CheckedEdits {
  add?: Record<string, string | undefined>;
  set?: Record<string, string | undefined>;
  remove?: (string | undefined)[];
  rename?: Record<string, string | undefined>;
}

export interface CheckedFilter {
  headers?: { request?: CheckedEdits; response?: CheckedEdits };
  rateLimit?: { requestsPerSecond?: number; burst?: number; key?: string; maxKeys?: number };
  jwt?: unknown;
  authz?: { policy?: string };
  module?: string;
  options?: unknown;
}

const KINDS = ['headers', 'rateLimit', 'jwt', 'authz', 'module'] as const;

function lowerKeys(map: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) out[k.toLowerCase()] = v ?? '';
  return out;
}

function edits(e: CheckedEdits | undefined): HeaderEditsConfig {
  return {
    add: lowerKeys(e?.add),
    set: lowerKeys(e?.set),
    remove: (e?.remove ?? []).map((n) => n ?? ''),
    rename: lowerKeys(e?.rename),
  };
}

export function buildFilters(
  list: readonly (CheckedFilter | undefined)[] | undefined,
  at: KeyPath,
  issue: IssueFn,
  locate: (path: KeyPath) => string,
  /** Whether the shape check already found a problem at or under a path. */
  failed: (path: KeyPath) => boolean,
): FilterConfig[] {
  const out: FilterConfig[] = [];
  (list ?? []).forEach((f, i) => {
    const path = [...at, i];
    if (f === undefined) return;
    const kinds = KINDS.filter((k) => f[k] !== undefined);
    if (kinds.length !== 1) {
      // An entry whose one filter key was refused already has its message.
      if (kinds.length === 0 && KINDS.some((k) => failed([...path, k]))) return;
      issue(
        path,
        kinds.length === 0
          ? 'a filter needs one of headers, rateLimit, jwt, authz or module'
          : `a filter entry takes one of headers, rateLimit, jwt, authz or module; this one has ${kinds.join(' and ')}`,
      );
      return;
    }
    if (f.options !== undefined && kinds[0] !== 'module') {
      issue([...path, 'options'], '`options` goes with `module` only');
    }
    const source = locate(path);
    if (f.headers !== undefined) {
      out.push({
        kind: 'headers',
        source,
        request: edits(f.headers.request),
        response: edits(f.headers.response),
      });
    } else if (f.rateLimit !== undefined) {
      const rps = f.rateLimit.requestsPerSecond ?? 1;
      out.push({
        kind: 'rateLimit',
        source,
        requestsPerSecond: rps,
        burst: f.rateLimit.burst ?? Math.max(1, Math.ceil(rps)),
        key: f.rateLimit.key ?? 'route',
        maxKeys: f.rateLimit.maxKeys ?? 10_000,
      });
    } else if (f.jwt !== undefined) {
      if (typeof f.jwt !== 'object' || f.jwt === null || Array.isArray(f.jwt)) {
        issue([...path, 'jwt'], 'must be a mapping (issuer, audiences, jwks, …)');
        return;
      }
      out.push({ kind: 'jwt', source, settings: f.jwt as Record<string, unknown> });
    } else if (f.authz !== undefined) {
      out.push({ kind: 'authz', source, policy: f.authz.policy ?? '' });
    } else if (f.module !== undefined) {
      const options = f.options ?? {};
      if (typeof options !== 'object' || options === null || Array.isArray(options)) {
        issue([...path, 'options'], 'must be a mapping (the options the module is given)');
        return;
      }
      out.push({
        kind: 'module',
        source,
        module: f.module,
        options: options as Record<string, unknown>,
      });
    }
  });
  return out;
}
