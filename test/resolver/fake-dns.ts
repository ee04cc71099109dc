// A scripted DNS client for resolver unit tests: answers, c-ares error codes, query log.
import type {
  AddressWithTtl,
  DnsClient,
  DnsClientFactory,
  SrvAnswer,
} from '../../resolver/dns-client.js';

/** An answer, or a c-ares error code to reject with (`ENOTFOUND`, `ETIMEOUT`, …). */
type Scripted<T> = T | string;

function dnsError(code: string, name: string): Error {
  return Object.assign(new Error(`query ${name} failed: ${code}`), { code });
}

export class FakeDns implements DnsClient {
  readonly a = new Map<string, Scripted<AddressWithTtl[]>>();
  readonly aaaa = new Map<string, Scripted<AddressWithTtl[]>>();
  readonly srv = new Map<string, Scripted<SrvAnswer[]>>();
  readonly txt = new Map<string, Scripted<string[][]>>();
  /** `A name`, `AAAA name`, `SRV name`, `TXT name`, in query order. */
  readonly queries: string[] = [];
  servers: readonly string[] = [];
  clientsCreated = 0;
  settings: { timeoutMs: number; tries: number } | undefined;
  cancelled = 0;
  private readonly pending = new Set<(error: Error) => void>();
  /** While set, queries hang until `release()` or `cancel()`. */
  hold = false;
  private held: (() => void)[] = [];

  readonly factory: DnsClientFactory = (settings) => {
    this.clientsCreated++;
    this.settings = settings;
    return this;
  };

  /** Names with no scripted answer are NXDOMAIN; a family left unset for a known name is ENODATA. */
  private answer<T>(
    kind: string,
    name: string,
    table: Map<string, Scripted<T>>,
    known: boolean,
  ): Promise<T> {
    this.queries.push(`${kind} ${name}`);
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        this.pending.delete(reject);
        const v = table.get(name);
        if (v === undefined) reject(dnsError(known ? 'ENODATA' : 'ENOTFOUND', name));
        else if (typeof v === 'string') reject(dnsError(v, name));
        else resolve(structuredClone(v));
      };
      this.pending.add(reject);
      if (this.hold) this.held.push(settle);
      else queueMicrotask(settle);
    });
  }

  private knows(name: string): boolean {
    return this.a.has(name) || this.aaaa.has(name) || this.srv.has(name) || this.txt.has(name);
  }

  setServers(servers: readonly string[]): void {
    this.servers = [...servers];
  }
  resolve4(name: string): Promise<AddressWithTtl[]> {
    return this.answer('A', name, this.a, this.knows(name));
  }
  resolve6(name: string): Promise<AddressWithTtl[]> {
    return this.answer('AAAA', name, this.aaaa, this.knows(name));
  }
  resolveSrv(name: string): Promise<SrvAnswer[]> {
    return this.answer('SRV', name, this.srv, this.knows(name));
  }
  resolveTxt(name: string): Promise<string[][]> {
    return this.answer('TXT', name, this.txt, this.knows(name));
  }
  release(): void {
    const held = this.held;
    this.held = [];
    for (const settle of held) settle();
  }
  cancel(): void {
    this.cancelled++;
    this.held = [];
    for (const reject of this.pending) reject(dnsError('ECANCELLED', 'cancelled'));
    this.pending.clear();
  }
  count(prefix: string): number {
    return this.queries.filter((q) => q.startsWith(prefix)).length;
  }
}
