// The YAML config file's shape: every key, its type, default and meaning. The loader checks
// files against it; the JSON Schema and the reference docs are generated from it.
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import {
  DEFAULT_ACCESS_LOG,
  DEFAULT_CIRCUIT_BREAKERS,
  DEFAULT_CLUSTER,
  DEFAULT_CONNECT,
  DEFAULT_CORS,
  DEFAULT_GATEWAY,
  DEFAULT_REFLECTION,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_KEEPALIVE,
  DEFAULT_LISTENER,
  DEFAULT_LOG,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_RESET_LIMIT,
  DEFAULT_RETRY_BUDGET,
  DEFAULT_SHUTDOWN_GRACE_MS,
  DEFAULT_TIMEOUTS,
  DEFAULT_SERVER_TLS,
  DEFAULT_ADMIN_ADDRESS,
} from './defaults.js';
import { MAX_DURATION_MS } from './duration.js';
import type { ObjectShape, Property, Shape, StringShape } from './shape.js';
import { STATUS_CODE_NAMES, statusCodeOf } from './status-codes.js';

const NAME: StringShape = {
  kind: 'string',
  pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
  patternMessage: 'be a name of letters, digits, "_", "-" and "." (at most 63)',
};
/** Cluster names as map keys. */
export const NAME_PATTERN = NAME.pattern!;

const FILE: StringShape = { kind: 'string', file: true };
const INT32 = 0x7fffffff;

function duration(min = 0, max = MAX_DURATION_MS): Shape {
  return { kind: 'duration', min, max };
}

function uint(min: number, max = INT32): Shape {
  return { kind: 'integer', min, max };
}

const SHARE: Shape = { kind: 'number', min: 0, max: 1 };

function proxyUrlProblem(text: string): string | undefined {
  if (text === 'none') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL (write http://host:port, or none)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `"${text}": only http:// and https:// proxies (HTTP CONNECT) are supported`;
  }
  if (url.hostname === '') return `"${text}" names no host`;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return `"${text}" must be http://[user:password@]host[:port] with no path`;
  }
  return undefined;
}

const HOST_NAME =
  /^(?:\*\.|\.)?[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

/** One `no_proxy`-style pattern: `*`, a name or `.domain`, an IP, a CIDR range, each with `:port`. */
function hostPatternProblem(text: string): string | undefined {
  const problem = `"${text}" is not a host pattern (host, .domain, IP address, CIDR range, each with an optional :port, or *)`;
  let host = text;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1];
    port = bracketed[2];
    if (isIP(host.split('/')[0]) !== 6) return problem;
  } else if (text.split(':').length === 2) {
    [host, port] = text.split(':');
  }
  if (
    port !== undefined &&
    !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)
  ) {
    return `"${text}" has a bad port`;
  }
  if (host === '*') return undefined;
  const slash = host.indexOf('/');
  if (slash >= 0) {
    const family = isIP(host.slice(0, slash));
    const bits = host.slice(slash + 1);
    if (family === 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) {
      return `"${text}" is not a CIDR range such as 10.0.0.0/8 or fd00::/8`;
    }
    return undefined;
  }
  return isIP(host) !== 0 || HOST_NAME.test(host) ? undefined : problem;
}

function regexProblem(text: string): string | undefined {
  try {
    new RegExp(text);
    return undefined;
  } catch (err) {
    return `not a regular expression: ${(err as Error).message}`;
  }
}

function object(properties: Record<string, Property>): ObjectShape {
  return { kind: 'object', properties };
}

/** An OpenSSL cipher list that names at least one cipher this Node.js has. */
function cipherListProblem(text: string): string | undefined {
  try {
    createSecureContext({ ciphers: text });
    return undefined;
  } catch {
    return `"${text}" names no cipher OpenSSL knows (an OpenSSL cipher list such as "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")`;
  }
}

/** A bearer token: printable ASCII, no spaces (RFC 6750 b64token), long enough to guess hard. */
function tokenProblem(text: string): string | undefined {
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(text)) {
    return 'must be a bearer token of letters, digits and -._~+/ (RFC 6750), no spaces';
  }
  if (text.length < 16) return `is ${text.length} characters long; use at least 16`;
  return undefined;
}

const SERVER_TLS = object({
  cert: {
    shape: FILE,
    required: true,
    description: 'certificate chain (PEM) presented to clients',
  },
  key: { shape: FILE, required: true, description: 'private key (PEM) of the certificate' },
  ca: {
    shape: FILE,
    description: 'CA bundle (PEM) that client certificates must chain to; asks clients for one',
  },
  requireClientCert: {
    shape: { kind: 'boolean' },
    default: false,
    description: 'refuse clients without a certificate signed by `ca` (mutual TLS; needs `ca`)',
  },
  minVersion: {
    shape: { kind: 'enum', values: ['TLSv1.2', 'TLSv1.3'] },
    default: DEFAULT_SERVER_TLS.minVersion,
    description: 'oldest TLS version a client may use',
  },
  ciphers: {
    shape: { kind: 'string', check: cipherListProblem },
    defaultText: "Node.js's default list",
    description:
      'OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are always the default three), e.g. `ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256`',
  },
  watch: {
    shape: { kind: 'boolean' },
    default: DEFAULT_SERVER_TLS.watch,
    description:
      'reload the certificate, key and CA when their files change (new connections get them; open ones keep theirs); SIGHUP and POST /reload reload them too',
  },
  expiryWarningDays: {
    shape: uint(0, 3650),
    default: DEFAULT_SERVER_TLS.expiryWarningDays,
    description:
      'name the certificate in /ready (as a warning, still 200) when it expires within this many days; 0 never',
  },
  peerLabel: {
    shape: { kind: 'enum', values: ['spiffe', 'uri', 'dns', 'email', 'cn', 'subject'] },
    description:
      'count calls by this part of the verified client certificate (`switchyard_peer_calls_total{listener,peer,grpc_code}`; the first SAN of that kind; at most 1,000 values, then `other`; needs `ca`)',
  },
});

const TUNNEL_TLS = object({
  cert: {
    shape: FILE,
    required: true,
    description: 'certificate chain (PEM) for the names clients CONNECT to',
  },
  key: { shape: FILE, required: true, description: 'private key (PEM) of the certificate' },
});

const PROXY_USER = object({
  user: {
    shape: {
      kind: 'string',
      pattern: /^[^:\s]+$/,
      patternMessage: 'be a user name without spaces or ":" (HTTP Basic cannot carry one)',
    },
    required: true,
    description: 'user name',
  },
  password: {
    shape: { kind: 'string', pattern: /./, patternMessage: 'not be empty' },
    required: true,
    description: 'password; write `${PROXY_PASSWORD}` to keep it out of the file',
  },
});

const CONNECT = object({
  clusters: {
    shape: {
      kind: 'map',
      values: { kind: 'string' },
      keyPattern:
        /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]))?$/,
      keyMessage: 'is not host or host:port',
    },
    default: {},
    description:
      'CONNECT targets (`host` for any port, or `host:port`) → cluster name; a host that is a cluster name needs no entry',
  },
  passthrough: {
    shape: { kind: 'list', items: { kind: 'string', check: hostPatternProblem } },
    default: [],
    description:
      'targets tunnelled as raw bytes, in no_proxy syntax (host, .domain, IP, CIDR, host:port, *); other targets get 403',
  },
  tls: {
    shape: TUNNEL_TLS,
    description: 'TLS inside tunnels to clusters, for clients with TLS credentials; omit: h2c only',
  },
  idleTimeout: {
    shape: duration(),
    default: DEFAULT_CONNECT.idleTimeoutMs,
    description: 'close a passthrough tunnel with no bytes either way for this long; 0s never',
  },
  users: {
    shape: { kind: 'list', items: PROXY_USER },
    default: [],
    description:
      'who may open tunnels: CONNECT must carry one of these in `Proxy-Authorization: Basic` (an http_proxy URL with user:password@), else 407; empty: anyone who can connect',
  },
});

const HEADER_NAME_PATTERN: StringShape = {
  kind: 'string',
  pattern: /^[a-z0-9!#$%&'+.^_`|~-]+\*?$/,
  patternMessage: 'be a header name, or a prefix ending in "*" such as "x-*"',
  normalize: (v) => v.toLowerCase(),
};

const HEADER_NAME_PATTERN_EXACT: StringShape = {
  kind: 'string',
  pattern: /^[a-z0-9!#$%&'+.^_`|~-]+$/,
  patternMessage: 'be a header name',
  normalize: (v) => v.toLowerCase(),
};

/** `*`, an origin, or an origin with `*` standing for host characters. */
export function originProblem(text: string): string | undefined {
  if (text === '*') return undefined;
  if (!/^https?:\/\/[A-Za-z0-9*.-]+(:(\d{1,5}|\*))?$/.test(text)) {
    return `"${text}" is not an origin: write "*", "https://app.example.com", or a pattern such as "https://*.example.com" (scheme and host, no path)`;
  }
  return undefined;
}

const CORS = object({
  allowOrigins: {
    shape: { kind: 'list', items: { kind: 'string', check: originProblem } },
    default: DEFAULT_CORS.allowOrigins,
    description:
      'origins whose browser pages may call: "*", exact origins, or patterns such as "https://*.example.com"',
  },
  allowMethods: {
    shape: {
      kind: 'list',
      items: {
        kind: 'string',
        pattern: /^[A-Z]+$/,
        patternMessage: 'be an HTTP method in capitals, such as "POST"',
      },
    },
    default: DEFAULT_CORS.allowMethods,
    description: 'methods a preflight grants',
  },
  allowHeaders: {
    shape: { kind: 'list', items: HEADER_NAME_PATTERN },
    default: DEFAULT_CORS.allowHeaders,
    description:
      'request headers a preflight grants (gRPC-Web metadata is sent as headers); a trailing "*" matches a prefix',
  },
  exposeHeaders: {
    shape: { kind: 'list', items: HEADER_NAME_PATTERN_EXACT },
    default: DEFAULT_CORS.exposeHeaders,
    description:
      "response headers browsers may read, beyond grpc-status, grpc-message, grpc-status-details-bin and each response's own metadata headers (always exposed)",
  },
  maxAge: {
    shape: duration(0, 86_400_000),
    default: DEFAULT_CORS.maxAgeSeconds * 1000,
    description: 'how long a browser may cache a preflight answer (Chromium caps it at 2h)',
  },
  allowCredentials: {
    shape: { kind: 'boolean' },
    default: DEFAULT_CORS.allowCredentials,
    description: 'let pages send cookies and Authorization (Access-Control-Allow-Credentials)',
  },
});

const GATEWAY = object({
  grpcWeb: {
    shape: { kind: 'boolean' },
    default: true,
    description:
      'serve gRPC-Web (application/grpc-web, +proto, -text) on this port, over HTTP/1.1 and HTTP/2; needs no descriptors',
  },
  cors: {
    shape: CORS,
    defaultText: 'off',
    description:
      'CORS for browser pages on other origins: preflight answered, headers on every reply, errors included (`cors: {}` for the defaults)',
  },
  openapi: {
    shape: {
      kind: 'string',
      pattern: /^(\/[^\s?#]*)?$/,
      patternMessage: 'be a path starting with "/", or "" for none',
    },
    default: DEFAULT_GATEWAY.openapiPath,
    description:
      "where GET serves the OpenAPI 3.1 document of the REST routes, generated from the descriptors and HTTP rules; '' for nowhere",
  },
  rest: {
    shape: { kind: 'boolean' },
    default: true,
    description:
      'serve REST/JSON (google.api.http rules) on this port: HTTP/1.1, and HTTP/2 requests that are not application/grpc',
  },
  forwardHeaders: {
    shape: { kind: 'list', items: HEADER_NAME_PATTERN },
    default: DEFAULT_GATEWAY.forwardHeaders,
    description:
      'request headers passed to the backend as gRPC metadata; a trailing "*" matches a prefix',
  },
  maxBodySize: {
    shape: uint(0),
    default: DEFAULT_GATEWAY.maxBodyBytes,
    description: 'larger request bodies are answered 413 (bytes)',
  },
  emitDefaults: {
    shape: { kind: 'boolean' },
    default: DEFAULT_GATEWAY.emitDefaults,
    description:
      'write fields that hold their default value (proto3 JSON leaves them out; grpc-gateway writes them)',
  },
  useProtoNames: {
    shape: { kind: 'boolean' },
    default: DEFAULT_GATEWAY.useProtoNames,
    description: 'write proto field names (page_size) instead of lowerCamelCase (pageSize)',
  },
});

const TEMPLATE: StringShape = {
  kind: 'string',
  pattern: /^\//,
  patternMessage: 'be a path template starting with "/", such as "/v1/{name=shelves/*}"',
};

const HTTP_BINDING_PROPERTIES: Record<string, Property> = {
  get: { shape: TEMPLATE, description: 'GET with this path template' },
  put: { shape: TEMPLATE, description: 'PUT with this path template' },
  post: { shape: TEMPLATE, description: 'POST with this path template' },
  delete: { shape: TEMPLATE, description: 'DELETE with this path template' },
  patch: { shape: TEMPLATE, description: 'PATCH with this path template' },
  custom: {
    shape: object({
      kind: { shape: { kind: 'string' }, required: true, description: 'the HTTP method' },
      path: { shape: TEMPLATE, required: true, description: 'the path template' },
    }),
    description: 'another HTTP method (HEAD, or "*" for any)',
  },
  body: {
    shape: { kind: 'string' },
    description: '"*" for the whole request message, a top-level field name, or omitted: no body',
  },
  responseBody: {
    shape: { kind: 'string' },
    description: 'a top-level response field to answer with instead of the whole message',
  },
};

const HTTP_RULE = object({
  selector: {
    shape: {
      kind: 'string',
      pattern: /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/,
      patternMessage: 'be a full method name such as "library.v1.Library.GetBook"',
    },
    required: true,
    description: 'the method, package.Service.Method',
  },
  ...HTTP_BINDING_PROPERTIES,
  additionalBindings: {
    shape: { kind: 'list', items: object(HTTP_BINDING_PROPERTIES) },
    description: 'more HTTP methods and paths for the same method',
  },
});

const REFLECTION = object({
  clusters: {
    shape: { kind: 'list', items: NAME },
    defaultText: 'every cluster',
    description: 'clusters whose endpoints are asked for their descriptors',
  },
  refresh: {
    shape: duration(1000),
    default: DEFAULT_REFLECTION.refreshMs,
    description:
      "how often every endpoint is asked again (also when a cluster's endpoints change); the schema is swapped only when its hash changes",
  },
  timeout: {
    shape: duration(1),
    default: DEFAULT_REFLECTION.timeoutMs,
    description: 'how long one endpoint has to answer all of its reflection requests',
  },
});

const DESCRIPTORS = object({
  protos: {
    shape: object({
      files: {
        shape: { kind: 'list', items: FILE, minItems: 1 },
        required: true,
        description: '.proto files to load (relative to the config file), parsed at startup',
      },
      importPaths: {
        shape: { kind: 'list', items: { kind: 'string' } },
        default: [],
        description:
          'directories imports are looked up in; google/api/annotations.proto, http.proto, google/rpc/status.proto and the well-known types are bundled',
      },
    }),
    defaultText: 'none (then `reflection:` is needed)',
    description:
      'the services, messages and google.api.http rules, from .proto source; with `reflection:` too, they fill in files and rules the backends do not serve',
  },
  reflection: {
    shape: REFLECTION,
    defaultText: 'off',
    description:
      'fetch descriptors from the backends with grpc.reflection.v1 (v1alpha when v1 is UNIMPLEMENTED) (`reflection: {}` for the defaults)',
  },
  serveReflection: {
    shape: { kind: 'boolean' },
    default: true,
    description:
      'answer grpc.reflection.v1 and v1alpha on every listener with all the descriptors above, instead of passing reflection calls to a backend',
  },
  httpRules: {
    shape: { kind: 'list', items: HTTP_RULE },
    default: [],
    description:
      "google.api.HttpRule entries for methods, by selector; they replace a method's annotation",
  },
});

const CLIENT_RESET_LIMIT = object({
  burst: {
    shape: uint(1),
    default: DEFAULT_LISTENER.resetLimit.burst,
    description: 'streams a client may reset at once',
  },
  rate: {
    shape: { kind: 'number', min: 0, max: 1_000_000 },
    default: DEFAULT_LISTENER.resetLimit.rate,
    description: 'streams it may reset per second once the burst is spent',
  },
});

const METADATA_NAME: StringShape = {
  kind: 'string',
  pattern: /^[a-z0-9!#$%&'*+.^_`|~-]+$/,
  patternMessage: 'be a metadata name such as "x-tenant" (no pseudo-headers)',
  normalize: (v) => v.toLowerCase(),
};

const METADATA_MAP: Shape = {
  kind: 'map',
  values: { kind: 'string', fromScalar: true },
  keyPattern: /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/,
  keyMessage: 'is not a metadata name such as "x-tenant"',
};

const HEADER_EDITS = object({
  add: {
    shape: METADATA_MAP,
    description:
      'name: value pairs added beside any already there; `${peer.uri}`, `${peer.dns}`, `${peer.subject}`, `${peer.address}`, `${claims.NAME}` are filled in',
  },
  set: { shape: METADATA_MAP, description: 'name: value pairs that replace any value there' },
  remove: { shape: { kind: 'list', items: METADATA_NAME }, description: 'names removed' },
  rename: {
    shape: {
      kind: 'map',
      values: METADATA_NAME,
      keyPattern: /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/,
      keyMessage: 'is not a metadata name such as "x-tenant"',
    },
    description: 'from: to pairs; the values move to the new name',
  },
});

const RATE_LIMIT_KEY: StringShape = {
  kind: 'string',
  pattern: /^(?:route|peer|metadata\.[a-z0-9!#$%&'*+.^_`|~-]+|jwt\.[A-Za-z0-9_.-]+)$/,
  patternMessage:
    'be route, peer (the client address), metadata.NAME (a request metadata value) or jwt.CLAIM (a verified token claim)',
};

/** One entry of a `filters:` list; exactly one of the filter keys (checked when built). */
const FILTER = object({
  headers: {
    shape: object({
      request: { shape: HEADER_EDITS, description: 'edits of the request metadata' },
      response: {
        shape: HEADER_EDITS,
        description: 'edits of the response headers (and trailers-only answers)',
      },
    }),
    description: 'add, set, remove and rename request and response metadata',
  },
  rateLimit: {
    shape: object({
      requestsPerSecond: {
        shape: { kind: 'number', min: 0.001, max: 1e9 },
        required: true,
        description: 'tokens added per second to each bucket',
      },
      burst: {
        shape: uint(1, 1e9),
        defaultText: 'requestsPerSecond, at least 1',
        description: 'bucket size: calls admitted at once after a quiet spell',
      },
      key: {
        shape: RATE_LIMIT_KEY,
        default: 'route',
        description:
          'one bucket per `route` (per listener on a listener), per `peer` address, per `metadata.NAME` value or per `jwt.CLAIM`',
      },
      maxKeys: {
        shape: uint(1, 10_000_000),
        default: 10_000,
        description:
          'buckets kept at most; the least recently used goes first (it would have refilled)',
      },
    }),
    description:
      'token buckets; a call without a token gets RESOURCE_EXHAUSTED with `grpc-retry-pushback-ms`',
  },
  jwt: {
    shape: { kind: 'any' },
    description:
      'bearer-token verification: `issuer`, `audiences`, `jwks: { uri | discovery | file | inline }`, `scopes`, `requiredClaims`, `forward` (keep the token upstream); checked when the proxy starts',
  },
  authz: {
    shape: object({
      policy: {
        shape: { kind: 'string', file: true },
        required: true,
        description: 'a gRFC A43 authorization policy (JSON), relative to the config file',
      },
    }),
    description: 'allow and deny rules by peer identity, JWT claims, method path and headers',
  },
  module: {
    shape: { kind: 'string', file: true },
    description:
      'a JavaScript module (relative to the config file) whose `default` or `createFilter` export makes the filter',
  },
  options: {
    shape: { kind: 'any' },
    description: "the module's options, passed to its factory as written",
  },
});

const FILTERS: Shape = { kind: 'list', items: FILTER };

const LISTENER = object({
  name: {
    shape: NAME,
    defaultText: '"main" for the first, then "listener-2", "listener-3", …',
    description: 'name in logs and metrics; unique among listeners',
  },
  address: {
    shape: { kind: 'address' },
    required: true,
    description: 'host:port, [ipv6]:port or :port (all IPv4 interfaces) to accept gRPC on',
  },
  tls: { shape: SERVER_TLS, description: 'TLS with ALPN h2; omit for h2c (HTTP/2 without TLS)' },
  handshakeTimeout: {
    shape: duration(1),
    default: DEFAULT_LISTENER.handshakeTimeoutMs,
    description:
      'close connections that have not sent the whole HTTP/2 preface and first SETTINGS by then (from accept, or from the end of the TLS handshake, which has the same limit)',
  },
  idleTimeout: {
    shape: duration(),
    default: DEFAULT_LISTENER.idleTimeoutMs,
    description: 'send GOAWAY to a client connection with no open stream for this long; 0s never',
  },
  maxConcurrentStreams: {
    shape: uint(1),
    default: DEFAULT_LISTENER.maxConcurrentStreams,
    description:
      'SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients: streams one client connection may have open',
  },
  stalledStreamTimeout: {
    shape: duration(),
    default: DEFAULT_LISTENER.stalledStreamTimeoutMs,
    description:
      'reset a stream whose client has taken none of the response for this long (RST_STREAM ENHANCE_YOUR_CALM; a REST or gRPC-Web response over HTTP/1.1 closes its connection); 0s never',
  },
  connectionBufferLimit: {
    shape: uint(64 << 10),
    default: DEFAULT_LISTENER.connectionBufferLimit,
    description:
      'response bytes the proxy may hold for one client connection that is behind; beyond it, its streams that sent nothing since the last check are reset (bytes; the default is above what 100 streams can hold)',
  },
  maxFilteredMessageSize: {
    shape: uint(1024),
    default: DEFAULT_LISTENER.maxFilteredMessageBytes,
    description:
      "the largest gRPC message a call with message hooks (its listener's or route's filters) reads, each way; a larger one ends the call RESOURCE_EXHAUSTED (bytes; grpc-js's default receive limit)",
  },
  resetLimit: {
    shape: CLIENT_RESET_LIMIT,
    default: {},
    description:
      'streams a client may reset on one connection (rapid-reset defence); beyond it the connection gets GOAWAY(ENHANCE_YOUR_CALM), takes no new streams and closes when its calls end',
  },
  pingAfterSilence: {
    shape: duration(),
    default: DEFAULT_LISTENER.pingAfterSilenceMs,
    description:
      'PING a client that has sent nothing for this long (once, until it sends again); 0s never',
  },
  pingTimeout: {
    shape: duration(1),
    default: DEFAULT_LISTENER.pingTimeoutMs,
    description: 'disconnect a client that does not answer that PING within this long',
  },
  closeTimeout: {
    shape: duration(1),
    default: DEFAULT_LISTENER.closeTimeoutMs,
    description:
      'close a connection that takes no more frames (a PING not even sent) after this long, and one whose calls were cut at the end of the shutdown grace',
  },
  connect: {
    shape: CONNECT,
    defaultText: 'off',
    description:
      'forward-proxy mode: accept `CONNECT host:port` from clients whose http_proxy points here, and balance each call of a tunnel to a cluster (`connect: {}` for the defaults)',
  },
  gateway: {
    shape: GATEWAY,
    defaultText: 'off',
    description:
      'REST/JSON transcoding on this port from the top-level `descriptors:` (`gateway: {}` for the defaults); omitted: HTTP/1.x gets 505',
  },
  filters: {
    shape: FILTERS,
    default: [],
    description: "run in order on every call the listener takes, before the route's",
  },
});

const HEADER_VALUE: StringShape = { kind: 'string', fromScalar: true };

const HEADER_MATCH = object({
  name: {
    shape: {
      kind: 'string',
      pattern: /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/,
      patternMessage: 'be a header (metadata) name such as "x-tenant"',
      normalize: (v) => v.toLowerCase(),
    },
    required: true,
    description: 'header (metadata) name; matched case-insensitively',
  },
  exact: { shape: HEADER_VALUE, description: 'the value must equal this' },
  prefix: { shape: HEADER_VALUE, description: 'the value must start with this' },
  regex: {
    shape: { kind: 'string', check: regexProblem },
    description: 'the whole value must match this JavaScript regular expression',
  },
  present: {
    shape: { kind: 'boolean' },
    description: 'true: the header must be present; false: it must be absent',
  },
});

const ROUTE_MATCH = object({
  service: {
    shape: {
      kind: 'string',
      pattern: /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/,
      patternMessage: 'be a full gRPC service name such as "users.v1.Users"',
    },
    description: 'exact gRPC service, package.Service',
  },
  method: {
    shape: {
      kind: 'string',
      pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
      patternMessage: 'be a method name such as "GetUser"',
    },
    description: 'exact method name; needs `service`',
  },
  prefix: {
    shape: {
      kind: 'string',
      pattern: /^\//,
      patternMessage: 'start with "/" (it is matched against the :path, /package.Service/Method)',
    },
    description: 'prefix of the request path `/package.Service/Method`, e.g. `/users.`',
  },
  headers: {
    shape: { kind: 'list', items: HEADER_MATCH },
    default: [],
    description:
      'header matches that must all hold; each has `name` and at most one of `exact`, `prefix`, `regex`, `present` (none: present)',
  },
});

const TIMEOUTS = object({
  default: {
    shape: duration(1),
    defaultText: 'none',
    description: 'deadline for calls that arrive without grpc-timeout; omitted: unbounded',
  },
  max: {
    shape: duration(1),
    defaultText: 'none',
    description: 'upper bound on any call deadline; omitted: none',
  },
  connect: {
    shape: duration(1),
    default: DEFAULT_TIMEOUTS.connectMs,
    description: 'TCP (and TLS) connect timeout for upstream connections',
  },
});

const UPSTREAM_TLS = object({
  ca: {
    shape: FILE,
    description: 'CA bundle (PEM) to verify endpoints with; omitted: the system CAs',
  },
  cert: { shape: FILE, description: 'client certificate (PEM) for mutual TLS; needs `key`' },
  key: { shape: FILE, description: 'private key (PEM) of the client certificate; needs `cert`' },
  serverName: {
    shape: { kind: 'string', pattern: /^[A-Za-z0-9.-]+$/, patternMessage: 'be a DNS name' },
    defaultText: "the endpoint's host name",
    description: 'SNI and the name the certificate must carry',
  },
  insecureSkipVerify: {
    shape: { kind: 'boolean' },
    default: false,
    description: 'accept any certificate (testing only)',
  },
});

const KEEPALIVE = object({
  time: {
    shape: duration(),
    default: DEFAULT_KEEPALIVE.timeMs,
    description:
      'least time between PINGs on an upstream connection carrying calls, sent once it has received nothing for a second; 0s disables',
  },
  timeout: {
    shape: duration(1),
    default: DEFAULT_KEEPALIVE.timeoutMs,
    description: 'close a connection whose PING is unanswered for this long',
  },
  idleTime: {
    shape: duration(),
    default: DEFAULT_KEEPALIVE.idleTimeMs,
    description:
      'PING interval on an upstream connection without calls (servers may limit PINGs: gRPC core and grpc-go allow one per 5 min); 0s disables',
  },
});

const RESET_LIMIT = object({
  burst: {
    shape: uint(0),
    default: DEFAULT_RESET_LIMIT.burst,
    description:
      'RST_STREAMs an endpoint accepts on one connection in a burst (its rapid-reset limit); 0 turns the accounting off',
  },
  rate: {
    shape: { kind: 'number', min: 0.01, max: 1_000_000 },
    default: DEFAULT_RESET_LIMIT.rate,
    description: 'RST_STREAMs per second the allowance grows back by',
  },
});

const HEALTH_CHECK = object({
  service: {
    shape: { kind: 'string' },
    default: DEFAULT_HEALTH_CHECK.service,
    description:
      'service name sent in grpc.health.v1.Health/Check; "" asks about the server as a whole',
  },
  interval: {
    shape: duration(1),
    default: DEFAULT_HEALTH_CHECK.intervalMs,
    description: 'time between checks of one endpoint',
  },
  timeout: {
    shape: duration(1),
    default: DEFAULT_HEALTH_CHECK.timeoutMs,
    description: 'a check not answered by then fails',
  },
  healthyThreshold: {
    shape: uint(1, 1000),
    default: DEFAULT_HEALTH_CHECK.healthyThreshold,
    description: 'successes in a row that make an unhealthy endpoint healthy',
  },
  unhealthyThreshold: {
    shape: uint(1, 1000),
    default: DEFAULT_HEALTH_CHECK.unhealthyThreshold,
    description: 'failures in a row that make a healthy endpoint unhealthy',
  },
});

const OUTLIER_DETECTION = object({
  consecutiveFailures: {
    shape: uint(0),
    default: DEFAULT_OUTLIER_DETECTION.consecutiveFailures,
    description: 'eject an endpoint after this many failed calls in a row; 0 turns the rule off',
  },
  failureRateThreshold: {
    shape: { kind: 'number', min: 0.01, max: 1 },
    defaultText: 'off',
    description:
      'eject an endpoint when this share of its calls in an interval failed; omitted: off',
  },
  minimumCalls: {
    shape: uint(1),
    default: DEFAULT_OUTLIER_DETECTION.minimumCalls,
    description: 'fewest calls in an interval for the failure rate to count',
  },
  interval: {
    shape: duration(1),
    default: DEFAULT_OUTLIER_DETECTION.intervalMs,
    description: 'how often failure rates are computed (and ejections decay)',
  },
  baseEjection: {
    shape: duration(1),
    default: DEFAULT_OUTLIER_DETECTION.baseEjectionMs,
    description: 'first ejection time; each further ejection of the same endpoint adds this much',
  },
  maxEjection: {
    shape: duration(1),
    default: DEFAULT_OUTLIER_DETECTION.maxEjectionMs,
    description: 'longest ejection',
  },
  maxEjectedShare: {
    shape: SHARE,
    default: DEFAULT_OUTLIER_DETECTION.maxEjectedShare,
    description: 'never eject more than this share of the endpoints (one is always allowed)',
  },
});

/** A gRPC status code as A6 writes it: a name in any case, or its number. */
const STATUS_CODE: Shape = {
  kind: 'union',
  variants: [
    uint(0, STATUS_CODE_NAMES.length - 1),
    {
      kind: 'string',
      check: (text) => (statusCodeOf(text) === undefined ? 'not a gRPC status name' : undefined),
      normalize: (text) => text.toUpperCase(),
      examples: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'],
    },
  ],
  expected: 'a gRPC status name such as UNAVAILABLE, or a code from 0 to 16',
};

const RETRY_POLICY = object({
  maxAttempts: {
    shape: uint(2),
    required: true,
    description: 'attempts including the first; more than 5 counts as 5 (gRFC A6)',
  },
  initialBackoff: {
    shape: duration(1),
    required: true,
    description: 'delay before the first retry (each delay is jittered by ±20 %)',
  },
  maxBackoff: { shape: duration(1), required: true, description: 'longest delay between tries' },
  backoffMultiplier: {
    shape: { kind: 'number', min: 0, max: 1_000 },
    required: true,
    description: 'each delay is the previous one times this (above 0)',
  },
  retryableStatusCodes: {
    shape: { kind: 'list', items: STATUS_CODE, minItems: 1 },
    required: true,
    description: 'statuses that are retried, by name (`UNAVAILABLE`) or number (14)',
  },
  perTryTimeout: {
    shape: duration(1),
    defaultText: 'none',
    description:
      "cancel an attempt with no response headers after this long and retry elsewhere (the call's deadline still bounds every try)",
  },
  retryClientRetries: {
    shape: { kind: 'boolean' },
    default: false,
    description:
      'also retry calls whose client sent `grpc-previous-rpc-attempts` (it retries itself: retrying again multiplies the attempts)',
  },
});

const HEDGING_POLICY = object({
  maxAttempts: {
    shape: uint(2),
    required: true,
    description: 'copies of the call including the first; more than 5 counts as 5 (gRFC A6)',
  },
  hedgingDelay: {
    shape: duration(0),
    default: 0,
    description: 'time between copies; 0 sends them all at once',
  },
  nonFatalStatusCodes: {
    shape: { kind: 'list', items: STATUS_CODE },
    default: [],
    description:
      'statuses after which the next copy goes at once; any other status (and any response headers) ends the hedging',
  },
});

const ROUTE = object({
  name: {
    shape: NAME,
    defaultText: '"route-1", "route-2", … by position',
    description: 'name in logs and metrics; unique among routes',
  },
  match: {
    shape: ROUTE_MATCH,
    description: 'what calls the route takes; omitted or empty: every call',
  },
  cluster: {
    shape: { kind: 'string' },
    required: true,
    description: 'the cluster (a key of `clusters`) that serves matching calls',
  },
  retryPolicy: {
    shape: {
      kind: 'union',
      variants: [{ kind: 'enum', values: ['off'] }, RETRY_POLICY],
      expected: 'a retry policy (a mapping), or off',
    },
    defaultText: "the cluster's",
    description:
      "the route's own gRFC A6 retry policy, in place of the cluster's (for an idempotent method); off: the route's calls are neither retried nor hedged, whatever the cluster or its service config says (calls never sent are still retried transparently)",
  },
  hedgingPolicy: {
    shape: HEDGING_POLICY,
    defaultText: "the cluster's",
    description: "the route's own gRFC A6 hedging policy, in place of the cluster's",
  },
  filters: {
    shape: FILTERS,
    default: [],
    description: "run in order on the route's calls, after the listener's",
  },
});

const RETRY_THROTTLING = object({
  maxTokens: {
    shape: { kind: 'number', min: 0, max: 1_000 },
    required: true,
    description:
      'tokens at the start (above 0, at most 1000); a failed attempt takes one, and retries stop at half',
  },
  tokenRatio: {
    shape: { kind: 'number', min: 0, max: 1_000 },
    required: true,
    description: 'tokens a successful call gives back (above 0)',
  },
});

const RETRY_BUDGET = object({
  percent: {
    shape: { kind: 'number', min: 0, max: 100 },
    default: DEFAULT_RETRY_BUDGET.percent,
    description: 'retries may add at most this share of the calls, counted over 10 s',
  },
  minRetriesPerSecond: {
    shape: uint(0),
    default: DEFAULT_RETRY_BUDGET.minRetriesPerSecond,
    description: 'retries allowed whatever the traffic, so a quiet cluster can still retry',
  },
});

const CIRCUIT_BREAKERS = object({
  maxConcurrentCalls: {
    shape: uint(1),
    default: DEFAULT_CIRCUIT_BREAKERS.maxConcurrentCalls,
    description: 'calls in flight to the cluster; more fail at once with UNAVAILABLE',
  },
  maxPendingCalls: {
    shape: uint(0),
    default: DEFAULT_CIRCUIT_BREAKERS.maxPendingCalls,
    description: 'calls waiting for an endpoint to become ready; more fail at once',
  },
  maxConcurrentRetries: {
    shape: uint(0),
    default: DEFAULT_CIRCUIT_BREAKERS.maxConcurrentRetries,
    description: 'calls retrying at once; above it a failure is returned instead of retried',
  },
});

const CLUSTER = object({
  target: {
    shape: { kind: 'string' },
    required: true,
    description:
      'where the endpoints come from: `dns:///host:port`, `dns+srv:///_grpc._tcp.name`, `consul:///service?tag=…`, `static:///a:1,b:2`, or host:port[,host:port…]',
  },
  balancer: {
    shape: { kind: 'balancer' },
    default: DEFAULT_CLUSTER.balancer.policy,
    description:
      'balancing policy name, or `{ policy: NAME, …settings }`; settings named …Ms take milliseconds or a duration',
  },
  timeouts: { shape: TIMEOUTS, default: {}, description: 'call deadlines and the connect timeout' },
  authority: {
    shape: { kind: 'string', pattern: /^[^\s/]+$/, patternMessage: 'be host or host:port' },
    defaultText: "the client's",
    description: 'rewrite :authority to this on the way upstream',
  },
  tls: {
    shape: UPSTREAM_TLS,
    description: 'TLS to the endpoints (`tls: {}` for system CAs); omit for h2c',
  },
  proxy: {
    shape: { kind: 'string', check: proxyUrlProblem },
    defaultText: 'from the environment (grpc_proxy, https_proxy, http_proxy, no_proxy)',
    description:
      'HTTP CONNECT proxy for the endpoints and the Consul agent, http(s)://[user:password@]host:port, or `none` to connect directly',
  },
  keepalive: {
    shape: KEEPALIVE,
    default: {},
    description: 'PINGs that find dead upstream connections',
  },
  resetLimit: {
    shape: RESET_LIMIT,
    default: {},
    description:
      "the endpoints' rapid-reset limit (nghttp2 and Node: 1000, then 33/s): cancelled calls stay within it per connection, and a connection close to it is replaced",
  },
  idleTimeout: {
    shape: duration(1),
    default: DEFAULT_CLUSTER.idleTimeoutMs,
    description:
      'close extra connections to an endpoint (opened when one is at its stream limit) idle this long',
  },
  panicThreshold: {
    shape: SHARE,
    default: DEFAULT_CLUSTER.panicThreshold,
    description:
      'when fewer than this share of endpoints are healthy and not ejected, use every ready endpoint',
  },
  healthCheck: {
    shape: HEALTH_CHECK,
    defaultText: 'off',
    description: 'active gRPC health checks (`healthCheck: {}` for the defaults); omitted: off',
  },
  outlierDetection: {
    shape: OUTLIER_DETECTION,
    defaultText: 'off',
    description:
      'passive ejection of failing endpoints (`outlierDetection: {}` for the defaults); omitted: off',
  },
  retryPolicy: {
    shape: RETRY_POLICY,
    defaultText: 'off',
    description:
      "gRFC A6's retry policy: retry these statuses on another endpoint, before any response reached the client",
  },
  hedgingPolicy: {
    shape: HEDGING_POLICY,
    defaultText: 'off',
    description:
      "gRFC A6's hedging policy: send copies of the call to other endpoints until one answers (not with retryPolicy)",
  },
  retryThrottling: {
    shape: RETRY_THROTTLING,
    defaultText: 'off',
    description: "gRFC A6's token bucket: no retries while many attempts fail",
  },
  retryBudget: {
    shape: RETRY_BUDGET,
    default: {},
    description: 'at most this many retries, whatever the policy says',
  },
  circuitBreakers: {
    shape: CIRCUIT_BREAKERS,
    default: {},
    description: 'concurrency limits; a call over one fails at once with UNAVAILABLE naming it',
  },
  resolver: {
    shape: { kind: 'resolver' },
    default: {},
    description:
      "options of the target's resolver (dns, dns+srv: DNS; consul: Consul); keys named …Ms take milliseconds or a duration",
  },
});

const ADMIN_TLS = object({
  cert: {
    shape: FILE,
    required: true,
    description: 'certificate chain (PEM) of the admin listener',
  },
  key: { shape: FILE, required: true, description: 'private key (PEM) of the certificate' },
  ca: {
    shape: FILE,
    description: 'CA bundle (PEM) client certificates must chain to; asks clients for one',
  },
  minVersion: {
    shape: { kind: 'enum', values: ['TLSv1.2', 'TLSv1.3'] },
    default: DEFAULT_SERVER_TLS.minVersion,
    description: 'oldest TLS version a client may use',
  },
});

const ADMIN_AUTH = object({
  token: {
    shape: { kind: 'string', check: tokenProblem },
    description:
      'bearer token (`authorization: Bearer …`), at least 16 characters; write `${ADMIN_TOKEN}` to keep it out of the file',
  },
  clientCert: {
    shape: { kind: 'boolean' },
    default: false,
    description: 'a client certificate verified against `admin.tls.ca` is enough (needs it)',
  },
  protect: {
    shape: { kind: 'enum', values: ['writes', 'all'] },
    default: 'writes',
    description:
      '`writes`: POST /reload needs credentials, reads are open; `all`: every path but /live and /ready',
  },
});

/** The whole file. */
export const CONFIG_SHAPE: ObjectShape = object({
  listeners: {
    shape: { kind: 'list', items: LISTENER, minItems: 1 },
    required: true,
    description: 'where clients connect',
  },
  routes: {
    shape: { kind: 'list', items: ROUTE, minItems: 1 },
    defaultText: 'every call to the only cluster',
    description: 'which cluster serves a call; the first match wins',
  },
  clusters: {
    shape: {
      kind: 'map',
      values: CLUSTER,
      keyPattern: NAME_PATTERN,
      keyMessage: 'is not a cluster name (letters, digits, "_", "-" and ".", at most 63)',
      minEntries: 1,
    },
    required: true,
    description:
      'upstream services by name: where their endpoints come from and how calls are spread',
  },
  admin: {
    shape: object({
      address: {
        shape: { kind: 'address' },
        default: DEFAULT_ADMIN_ADDRESS,
        defaultText: '127.0.0.1:9901',
        description:
          'host:port for the admin and metrics endpoints; elsewhere than loopback, protect it with `auth` (a warning is logged otherwise)',
      },
      tls: {
        shape: ADMIN_TLS,
        description: 'HTTPS instead of HTTP; with `ca`, clients may present certificates (mTLS)',
      },
      auth: {
        shape: ADMIN_AUTH,
        defaultText: 'off',
        description:
          'what callers of protected endpoints must present: a bearer token, a client certificate, or either',
      },
    }),
    defaultText: 'off',
    description: 'the admin listener (`admin: {}` for 127.0.0.1:9901); omitted: none',
  },
  workers: {
    shape: {
      kind: 'union',
      variants: [uint(1, 1024), { kind: 'enum', values: ['auto'] }],
      expected: 'a whole number from 1 to 1024 or "auto"',
    },
    default: 1,
    description: 'processes sharing the listeners; `auto`: one per CPU',
  },
  log: {
    shape: object({
      level: {
        shape: {
          kind: 'enum',
          values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
        },
        default: DEFAULT_LOG.level,
        description: 'least severe level written (`--log-level` overrides it)',
      },
      format: {
        shape: { kind: 'enum', values: ['auto', 'json', 'pretty'] },
        default: DEFAULT_LOG.format,
        description: 'json lines, or pretty for people; auto: pretty on a terminal',
      },
    }),
    default: {},
    description: 'the process log (on stderr)',
  },
  accessLog: {
    shape: object({
      sample: {
        shape: SHARE,
        default: DEFAULT_ACCESS_LOG.sample,
        description: 'share of calls logged: 0 none, 1 every call',
      },
      destination: {
        shape: { kind: 'string', pattern: /./, patternMessage: 'not be empty' },
        default: DEFAULT_ACCESS_LOG.destination,
        description:
          'stdout, stderr, or a file (relative to the config file) to append to, reopened on each reload (log rotation)',
      },
    }),
    default: {},
    description: 'one line per call',
  },
  descriptors: {
    shape: DESCRIPTORS,
    defaultText: 'none',
    description: "where listeners' `gateway:` finds services and HTTP rules",
  },
  shutdownGrace: {
    shape: duration(0, 3_600_000),
    default: DEFAULT_SHUTDOWN_GRACE_MS,
    description: 'how long calls in flight may run on after SIGTERM before they are cut',
  },
});
