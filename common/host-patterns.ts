// Host patterns as `no_proxy` writes them (exact names, domain suffixes, IP addresses, CIDR
// ranges, `host:port`, `*`), matched against a connection's host names, address and port.
import { BlockList, isIP } from 'node:net';

/** One parsed entry. */
type HostPattern =
  | { readonly kind: 'any'; readonly port: number | undefined }
  | { readonly kind: 'domain'; readonly domain: string; readonly port: number | undefined }
  | { readonly kind: 'ip'; readonly list: BlockList; readonly port: number | undefined };

/** What a pattern is matched against: every name and address of one connection. */
export interface HostCandidate {
  /** Host names the connection was found under (the target's host, a DNS name); any case. */
  readonly names: readonly string[];
  /** The IP address connected to, when there is one (IPv6 without brackets). */
  readonly address: string | undefined;
  readonly port: number;
}

/** Why an entry could not be read, for a warning; the entry is then ignored. */
export interface HostPatternProblem {
  readonly entry: string;
  readonly message: string;
}

const DOMAIN = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** `[v6]:port`, `host:port`, or the text as it is (a bare IPv6 address has several colons). */
function splitPort(text: string): { host: string; port: number | undefined } | string {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return 'has "[" without "]"';
    const host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest === '') return { host, port: undefined };
    const port = rest.startsWith(':') ? parsePort(rest.slice(1)) : undefined;
    return port === undefined ? `has a bad port "${rest.slice(1)}"` : { host, port };
  }
  const colons = text.split(':').length - 1;
  if (colons !== 1) return { host: text, port: undefined };
  const at = text.indexOf(':');
  const port = parsePort(text.slice(at + 1));
  return port === undefined
    ? `has a bad port "${text.slice(at + 1)}"`
    : { host: text.slice(0, at), port };
}

function parseEntry(raw: string): HostPattern | string {
  const text = raw.toLowerCase();
  if (text === '*') return { kind: 'any', port: undefined };
  const split = splitPort(text);
  if (typeof split === 'string') return split;
  const { port } = split;
  let host = split.host;
  if (host === '*') return { kind: 'any', port };
  const slash = host.indexOf('/');
  if (slash >= 0) {
    const address = host.slice(0, slash);
    const family = isIP(address);
    const bits = /^\d{1,3}$/.test(host.slice(slash + 1)) ? Number(host.slice(slash + 1)) : -1;
    if (family === 0) return `is not a CIDR range (no IP address before "/")`;
    if (bits < 0 || bits > (family === 4 ? 32 : 128)) return `has a bad prefix length`;
    const list = new BlockList();
    list.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'ip', list, port };
  }
  const family = isIP(host);
  if (family !== 0) {
    const list = new BlockList();
    list.addAddress(host, family === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'ip', list, port };
  }
  // `010.0.0.1` or `10.0.0.256` is meant as an address but is none: as a domain it would match
  // nothing, silently (a name written as an IP literal never matches a domain).
  if (/^[\d.]+$/.test(host)) return 'is not an IP address';
  // `.example.com`, `*.example.com` and `example.com` all mean the domain and its subdomains.
  if (host.startsWith('*.')) host = host.slice(2);
  else if (host.startsWith('.')) host = host.slice(1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!DOMAIN.test(host)) return 'is not a host name, domain, IP address or CIDR range';
  return { kind: 'domain', domain: host, port };
}

function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function matchesOne(pattern: HostPattern, candidate: HostCandidate): boolean {
  if (pattern.port !== undefined && pattern.port !== candidate.port) return false;
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'ip': {
      const addresses = candidate.address !== undefined ? [candidate.address] : [];
      // A name written as an IP literal is an address too.
      for (const name of candidate.names) if (isIP(name) !== 0) addresses.push(name);
      return addresses.some((a) => pattern.list.check(a, isIP(a) === 4 ? 'ipv4' : 'ipv6'));
    }
    case 'domain':
      return candidate.names.some((raw) => {
        // IP literals never match a domain: "10.0.0.1" does not end in the domain "0.0.1".
        if (isIP(raw) !== 0) return false;
        const name = normalizeName(raw);
        const d = pattern.domain;
        return (
          name === d ||
          (name.length > d.length && name.endsWith(d) && name.at(-d.length - 1) === '.')
        );
      });
  }
}

/**
 * A list of host patterns, separated by commas or white space:
 *
 * - `*` matches everything;
 * - `example.com`, `.example.com` and `*.example.com` match example.com and every name under it
 *   (never `notexample.com`);
 * - `10.1.2.3`, `::1` and `[::1]` match that address; `10.0.0.0/8` and `fd00::/8` a range;
 * - any of these with `:port` (`[::1]:443` for IPv6) matches only that port.
 *
 * Names compare case-insensitively, with a trailing dot ignored. Entries that cannot be read
 * are left out and listed in `problems`.
 */
export class HostPatternList {
  readonly problems: readonly HostPatternProblem[];
  private readonly patterns: readonly HostPattern[];

  constructor(readonly text: string) {
    const patterns: HostPattern[] = [];
    const problems: HostPatternProblem[] = [];
    for (const entry of text.split(/[\s,]+/)) {
      if (entry === '') continue;
      const parsed = parseEntry(entry);
      if (typeof parsed === 'string') problems.push({ entry, message: parsed });
      else patterns.push(parsed);
    }
    this.patterns = patterns;
    this.problems = problems;
  }

  /** A list from separate entries (a YAML list). */
  static of(entries: readonly string[]): HostPatternList {
    return new HostPatternList(entries.join(','));
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether any pattern matches any of the candidate's names or its address. */
  matches(candidate: HostCandidate): boolean {
    for (const pattern of this.patterns) if (matchesOne(pattern, candidate)) return true;
    return false;
  }
}
