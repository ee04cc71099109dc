// Endpoints and endpoint sets: the immutable values resolvers emit and balancers consume.

/** One address a cluster can send calls to. Frozen once created. */
export interface Endpoint {
  /** `address:port`, with IPv6 addresses in brackets. Unique within a set; balancers key state by it. */
  readonly key: string;
  /** An IP address (IPv6 without brackets), or a host name where the source gave no address. */
  readonly address: string;
  readonly port: number;
  /** Relative weight (SRV weight, Consul `Service.Weights.Passing`); 1 when the source has none. */
  readonly weight: number;
  /** Lower is preferred (SRV priority); 0 when the source has none. */
  readonly priority: number;
  /**
   * The DNS name this address was found under, when there is one (the A/AAAA name, the SRV
   * target, the Consul node). Upstream TLS uses it for SNI and certificate checks.
   */
  readonly hostname: string | undefined;
  /** Source-specific labels (Consul tags and service meta, SRV target). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A whole, immutable endpoint set. Resolvers emit a new one only when something changed. */
export interface EndpointSet {
  readonly endpoints: readonly Endpoint[];
  /** A gRPC service config found with the endpoints (DNS TXT `grpc_config`), already parsed. */
  readonly serviceConfig: unknown;
}

export interface EndpointInit {
  address: string;
  port: number;
  weight?: number;
  priority?: number;
  hostname?: string;
  metadata?: Record<string, string>;
}

const EMPTY_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/** `10.0.0.1:50051`, `[::1]:50051`. */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function createEndpoint(init: EndpointInit): Endpoint {
  return Object.freeze({
    key: endpointKey(init.address, init.port),
    address: init.address,
    port: init.port,
    weight: init.weight ?? 1,
    priority: init.priority ?? 0,
    hostname: init.hostname,
    metadata: init.metadata ? Object.freeze({ ...init.metadata }) : EMPTY_METADATA,
  });
}

export function createEndpointSet(
  endpoints: readonly Endpoint[],
  serviceConfig: unknown = undefined,
): EndpointSet {
  return Object.freeze({ endpoints: Object.freeze([...endpoints]), serviceConfig });
}

function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  if (a === b) return true;
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) if (a[k] !== b[k]) return false;
  return true;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return (
    a.key === b.key &&
    a.weight === b.weight &&
    a.priority === b.priority &&
    a.hostname === b.hostname &&
    sameMetadata(a.metadata, b.metadata)
  );
}

/**
 * True when both sets hold the same endpoints (order ignored) and the same service config,
 * so a resolver can skip emitting an update that changes nothing.
 */
export function sameEndpointSet(a: EndpointSet | undefined, b: EndpointSet | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.endpoints.length !== b.endpoints.length) return false;
  if (JSON.stringify(a.serviceConfig) !== JSON.stringify(b.serviceConfig)) return false;
  const byKey = new Map<string, Endpoint>();
  for (const e of a.endpoints) byKey.set(e.key, e);
  for (const e of b.endpoints) {
    const other = byKey.get(e.key);
    if (!other || !sameEndpoint(other, e)) return false;
  }
  return true;
}
