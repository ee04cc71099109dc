// The key set a verifier checks signatures with: from a file or inline (fixed), or from a URL
// (given, or named by the issuer's OpenID Connect discovery document), fetched with a timeout and a size cap, cached for `cacheDuration`, refetched when a token
// names a key it does not have (at most once per `refreshCooldown`, so a flood of made-up kids
// cannot turn into a flood of fetches), and kept when a refetch fails (the last good set keeps
// verifying while the JWKS server is down). A failed fetch with no set at all is remembered for
// `failedRefetch`: calls in that window fail at once instead of each waiting for a timeout.
import { importJWK, type CryptoKey } from 'jose';
import { SecurityError } from '../errors.js';
import { jwkFitsAlgorithm, type PublicJwk } from './jwk-algorithms.js';

/** A JWKS document once parsed: its keys, and the imported form per kid and alg. */
export interface KeySet {
  readonly keys: readonly PublicJwk[];
}

export interface RemoteJwksSettings {
  /** The JWKS URL; undefined when `discovery` finds it. */
  readonly uri: string | undefined;
  /** An OpenID Connect discovery document naming the JWKS URL, and the issuer it must name. */
  readonly discovery: { readonly uri: string; readonly issuer: string } | undefined;
  /** Milliseconds a fetched set is fresh (Envoy's `cache_duration` default: 10 min). */
  readonly cacheDuration: number;
  /** Milliseconds for the whole fetch: connect, headers and body. */
  readonly timeout: number;
  /** Milliseconds between refetches caused by an unknown kid. */
  readonly refreshCooldown: number;
  /** Milliseconds a failed fetch is not retried (Envoy's `failed_refetch_duration`: 1 s). */
  readonly failedRefetch: number;
}

/** A JWKS larger than this is refused: real ones are a few KiB (Google's: 2 keys, 1.5 KiB). */
export const MAX_JWKS_BYTES = 512 * 1024;
/** A discovery document larger than this is refused: real ones are 1–6 KiB. */
export const MAX_DISCOVERY_BYTES = 64 * 1024;

export type KeyLookup =
  | { readonly ok: true; readonly key: CryptoKey | Uint8Array; readonly kid: string | undefined }
  | {
      readonly ok: false;
      readonly reason: 'UNKNOWN_KID' | 'JWKS_UNAVAILABLE';
      readonly message: string;
    };

/**
 * Reads a JWKS document: `{"keys": [ … ]}`. Keys that cannot verify signatures (`oct`, `use:
 * enc`) stay out; a set left with no key is an error. `origin` names the source in messages.
 */
export function parseKeySet(text: string, origin: string): KeySet {
  const doc = parseJson(text, origin, 'JWKS');
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
    throw new SecurityError('SWY_ERR_JWKS', `${origin}: the JWKS has no "keys" list`);
  }
  const keys = (doc as { keys: unknown[] }).keys.filter(
    (k): k is PublicJwk =>
      typeof k === 'object' &&
      k !== null &&
      (k as PublicJwk).kty !== 'oct' &&
      ((k as PublicJwk).use === undefined || (k as PublicJwk).use === 'sig') &&
      ((k as PublicJwk).kid === undefined || typeof (k as PublicJwk).kid === 'string'),
  );
  if (keys.length === 0) {
    throw new SecurityError('SWY_ERR_JWKS', `${origin}: the JWKS has no public signing key`);
  }
  return { keys };
}

/** `text` as JSON, or SWY_ERR_JWKS saying that `origin`'s `what` is not JSON. */
function parseJson(text: string, origin: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SecurityError(
      'SWY_ERR_JWKS',
      `${origin}: the ${what} is not valid JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export interface JwksSourceOptions {
  /** Wall-clock milliseconds (Date.now by default): for freshness and rate limits. */
  readonly now: () => number;
  /** Called with each failure to fetch or read the remote set (for the log). */
  readonly onError?: (err: SecurityError) => void;
}

export class JwksSource {
  private set: KeySet | undefined;
  private setGeneration = 0;
  private fetchedAt = -Infinity;
  private lastKidRefresh = -Infinity;
  private failedAt = -Infinity;
  private lastError: SecurityError | undefined;
  private inflight: Promise<void> | undefined;
  /** The JWKS URL the discovery document named (discovery only; forgotten after a failed fetch). */
  private discoveredUri: string | undefined;
  private readonly imported = new Map<PublicJwk, Map<string, Promise<CryptoKey | Uint8Array>>>();
  private readonly closer = new AbortController();

  /** A fixed set (file or inline), or a remote one. */
  constructor(
    private readonly source: KeySet | RemoteJwksSettings,
    private readonly options: JwksSourceOptions,
  ) {
    if ('keys' in source) this.set = source;
  }

  /** True when the set is fetched from a URL. */
  /**
   * Changes whenever a new key set replaces the held one: a verified-token cache keyed on it
   * forgets tokens signed by keys that may have been retired.
   */
  get generation(): number {
    return this.setGeneration;
  }

  get remote(): boolean {
    return !('keys' in this.source);
  }

  /**
   * Fetches the remote set now (before a listener goes ready, say). Resolves true when a set is
   * held afterwards; never rejects.
   */
  async prefetch(): Promise<boolean> {
    if (this.remote) await this.refresh();
    return this.set !== undefined;
  }

  /** Aborts a fetch under way; later lookups use what is held. */
  close(): void {
    this.closer.abort();
  }

  /** The key for a token's `kid` (may be absent) and `alg`, fetching the set if needed. */
  async lookup(kid: string | undefined, alg: string): Promise<KeyLookup> {
    if (this.remote) {
      const remote = this.source as RemoteJwksSettings;
      const now = this.options.now();
      if (this.set === undefined) {
        if (now - this.failedAt < remote.failedRefetch) return this.unavailable();
        await this.refresh();
        if (this.set === undefined) return this.unavailable();
      } else if (now - this.fetchedAt >= remote.cacheDuration) {
        // Stale: refetch, but do not make this call wait for it; the held set still verifies.
        void this.refresh();
      }
    }
    let found = this.find(kid, alg);
    if (found === undefined && this.remote && kid !== undefined) {
      // A kid not in the set: the issuer may have rotated its keys since the last fetch.
      const remote = this.source as RemoteJwksSettings;
      const now = this.options.now();
      if (
        now - this.lastKidRefresh >= remote.refreshCooldown &&
        now - this.failedAt >= remote.failedRefetch
      ) {
        this.lastKidRefresh = now;
        await this.refresh();
        found = this.find(kid, alg);
      }
    }
    if (found === undefined) {
      return {
        ok: false,
        reason: 'UNKNOWN_KID',
        message:
          kid === undefined
            ? `the token has no kid and the key set has no single key for ${alg}`
            : `no key with kid "${kid}" for ${alg} in the key set`,
      };
    }
    try {
      return { ok: true, key: await this.importKey(found, alg), kid };
    } catch (err) {
      return {
        ok: false,
        reason: 'UNKNOWN_KID',
        message: `key "${typeof found.kid === 'string' ? found.kid : ''}" cannot be used for ${alg}: ${(err as Error).message}`,
      };
    }
  }

  private unavailable(): KeyLookup {
    const why = this.lastError?.message ?? 'the key set has not been fetched';
    return { ok: false, reason: 'JWKS_UNAVAILABLE', message: `no key set to verify with: ${why}` };
  }

  private find(kid: string | undefined, alg: string): PublicJwk | undefined {
    if (this.set === undefined) return undefined;
    if (kid !== undefined) {
      return this.set.keys.find((k) => k.kid === kid && jwkFitsAlgorithm(k, alg));
    }
    // No kid: only when exactly one key fits, so the choice never depends on key order.
    const fitting = this.set.keys.filter((k) => jwkFitsAlgorithm(k, alg));
    return fitting.length === 1 ? fitting[0] : undefined;
  }

  private importKey(jwk: PublicJwk, alg: string): Promise<CryptoKey | Uint8Array> {
    let byAlg = this.imported.get(jwk);
    if (byAlg === undefined)
      this.imported.set(jwk, (byAlg = new Map<string, Promise<CryptoKey | Uint8Array>>()));
    let key = byAlg.get(alg);
    if (key === undefined) {
      key = importJWK({ ...jwk, ext: true } as Parameters<typeof importJWK>[0], alg);
      byAlg.set(alg, key);
      key.catch(() => byAlg.delete(alg));
    }
    return key;
  }

  /** One fetch at a time; callers that arrive during it share it. */
  private refresh(): Promise<void> {
    // Closed: no more fetches; lookups answer from the held set.
    if (this.closer.signal.aborted) return Promise.resolve();
    this.inflight ??= this.fetchSet().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchSet(): Promise<void> {
    const remote = this.source as RemoteJwksSettings;
    // One controller with a timer of its own, not AbortSignal.any(AbortSignal.timeout(…)): on
    // Node 20 a signal made by AbortSignal.any may be garbage-collected before it fires, and the
    // fetch then waits for undici's 300 s headers timeout.
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(new DOMException(`no answer within ${remote.timeout} ms`, 'TimeoutError'));
    }, remote.timeout);
    timer.unref();
    const closer = this.closer.signal;
    const onClose = (): void => controller.abort(closer.reason);
    closer.addEventListener('abort', onClose, { once: true });
    let uri = remote.uri ?? this.discoveredUri;
    try {
      uri ??= this.discoveredUri = await discoverJwksUri(remote, controller.signal);
      const text = await fetchText(uri, controller.signal, remote.timeout);
      const set = parseKeySet(text, uri);
      this.set = set;
      this.setGeneration++;
      this.imported.clear();
      this.fetchedAt = this.options.now();
      this.lastError = undefined;
      this.failedAt = -Infinity;
    } catch (err) {
      // The issuer may have moved its keys: the next fetch reads the discovery document again
      // (at most once per failedRefetch, like any fetch after a failure).
      this.discoveredUri = undefined;
      const error =
        err instanceof SecurityError
          ? err
          : new SecurityError(
              'SWY_ERR_JWKS',
              `${uri ?? remote.discovery?.uri}: cannot fetch the ${uri === undefined ? 'discovery document' : 'JWKS'}: ${describeFetchError(err, remote.timeout)}`,
              {
                cause: err,
              },
            );
      this.lastError = error;
      this.failedAt = this.options.now();
      this.options.onError?.(error);
    } finally {
      clearTimeout(timer);
      closer.removeEventListener('abort', onClose);
    }
  }
}

function describeFetchError(err: unknown, timeout: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return `no answer within ${timeout} ms`;
    if (err.name === 'AbortError') return 'closed';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code !== undefined) return `${err.message} (${cause.code})`;
    return err.message;
  }
  return String(err);
}

/**
 * Reads the JWKS URL from an OpenID Connect discovery document (OIDC Discovery 1.0 §4): the
 * document must name the configured issuer exactly (§4.3: a document served for another issuer
 * would hand its keys to this one) and carry an http(s) `jwks_uri`.
 */
async function discoverJwksUri(remote: RemoteJwksSettings, signal: AbortSignal): Promise<string> {
  const { uri, issuer } = remote.discovery!;
  const text = await fetchText(
    uri,
    signal,
    remote.timeout,
    'discovery document',
    MAX_DISCOVERY_BYTES,
  );
  const doc = parseJson(text, uri, 'discovery document');
  const { issuer: named, jwks_uri: jwksUri } = (doc ?? {}) as {
    issuer?: unknown;
    jwks_uri?: unknown;
  };
  if (named !== issuer) {
    throw new SecurityError(
      'SWY_ERR_JWKS',
      `${uri}: the discovery document names issuer ${JSON.stringify(named)}, not ${JSON.stringify(issuer)}`,
    );
  }
  let url: URL | undefined;
  try {
    url = typeof jwksUri === 'string' ? new URL(jwksUri) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new SecurityError(
      'SWY_ERR_JWKS',
      `${uri}: the discovery document has no http(s) jwks_uri (${JSON.stringify(jwksUri)})`,
    );
  }
  return url.href;
}

/** GET `uri`, expecting 200 and at most `maxBytes` of body, all within `signal`. */
async function fetchText(
  uri: string,
  signal: AbortSignal,
  timeout: number,
  what = 'JWKS',
  maxBytes = MAX_JWKS_BYTES,
): Promise<string> {
  const res = await fetch(uri, {
    signal,
    redirect: 'error',
    headers: { accept: 'application/json, application/jwk-set+json' },
  });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new SecurityError(
      'SWY_ERR_JWKS',
      `${uri}: the ${what} server answered HTTP ${res.status}`,
    );
  }
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new SecurityError(
      'SWY_ERR_JWKS',
      `${uri}: the ${what} is ${length} bytes; at most ${maxBytes}`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body !== null) {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw new SecurityError(
            'SWY_ERR_JWKS',
            `${uri}: the ${what} is larger than ${maxBytes} bytes`,
          );
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof SecurityError) throw err;
      throw new SecurityError(
        'SWY_ERR_JWKS',
        `${uri}: cannot read the ${what}: ${describeFetchError(err, timeout)}`,
        {
          cause: err,
        },
      );
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
