// A copy of a config safe to show (admin page, `validate` output, logs): secrets replaced,
// everything else as it is. File paths stay: they name where a key is, not what it is.
import type { BalancerConfig, ClusterConfig, Config } from './types.js';

export const REDACTED = '[redacted]';

// Resolver settings that hold credentials (Consul's ACL `token`) or might in future ones.
const SECRET_KEY = /token|password|passwd|secret|credential|apikey|api_key/i;

/** `http://user:pw@host` → `http://user:[redacted]@host`; text without credentials as it is. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.username === '' && url.password === '') return text;
  // A user name alone is often a token (`http://TOKEN@proxy`), so it goes too. Assembled by
  // hand: URL would percent-encode the brackets of the marker.
  const auth = url.password === '' ? `${REDACTED}@` : `${url.username}:${REDACTED}@`;
  // Greedy up to the last `@` of the authority, as URL parsers split it.
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, `$1${auth}`);
}

/** `block` with secrets replaced: the same keys, so the same type for what is shown. */
function redactBlock<T extends object>(block: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(block)) {
    if (SECRET_KEY.test(key) && value !== undefined) out[key] = REDACTED;
    else if (typeof value === 'string') out[key] = redactUrl(value);
    else out[key] = value;
  }
  return out as T;
}

function redactCluster(cluster: ClusterConfig): ClusterConfig {
  return {
    ...cluster,
    target: redactUrl(cluster.target),
    proxy: cluster.proxy === undefined ? undefined : redactUrl(cluster.proxy),
    // The same policy with the same keys: spreading the union loses which settings go with it.
    balancer: {
      ...cluster.balancer,
      settings: redactBlock(cluster.balancer.settings),
    } as BalancerConfig,
    resolver: redactBlock(cluster.resolver),
  };
}

/**
 * A deep enough copy of `config` with proxy passwords, resolver tokens, the forward-proxy
 * users' passwords and the admin token replaced.
 */
export function redactConfig(config: Config): Config {
  const admin = config.admin;
  return {
    ...config,
    listeners: config.listeners.map((l) =>
      l.connect === undefined || l.connect.users.length === 0
        ? l
        : {
            ...l,
            connect: {
              ...l.connect,
              users: l.connect.users.map((u) => ({ user: u.user, password: REDACTED })),
            },
          },
    ),
    clusters: config.clusters.map(redactCluster),
    admin:
      admin?.auth?.token === undefined
        ? admin
        : { ...admin, auth: { ...admin.auth, token: REDACTED } },
  };
}
