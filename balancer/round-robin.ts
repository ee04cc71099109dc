// round_robin: even rotation over the hosts that may take calls.
import type { Host } from './host.js';
import type { Policy } from './policy.js';

export class RoundRobinPolicy implements Policy {
  readonly name = 'round_robin';
  private hosts: readonly Host[] = [];
  private next = 0;

  constructor(private readonly random: () => number = Math.random) {}

  setHosts(hosts: readonly Host[]): void {
    this.hosts = hosts;
    // A random start per list, so many proxies restarted together do not all send their
    // first calls to the same endpoint.
    this.next = hosts.length > 0 ? Math.floor(this.random() * hosts.length) : 0;
  }

  pick(): Host | null {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return null;
    const i = this.next < n ? this.next : 0;
    this.next = i + 1 >= n ? 0 : i + 1;
    return hosts[i];
  }
}
