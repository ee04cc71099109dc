// Calls by client identity, for listeners whose `tls.peerLabel` asks for it: one counter per
// (listener, identity, gRPC status), the identity being one part of the verified client
// certificate (its SPIFFE ID, first DNS name, common name, …). Off unless a listener asks, and
// then one Map lookup per call on that listener: the certificate was parsed once per connection.
import type { PeerIdentity } from '../../common/peer-identity.js';
import type { PeerLabel } from '../../config/types.js';
import { Status } from '../../grpc/grpc-status.js';
import type { CallRecord } from '../../proxy/call-record.js';
import { STATUS_SLOTS } from './call-metrics.js';

/**
 * Distinct identities counted per listener; later ones are counted as `other`. A label value
 * per client is what the operator asked for, but a CA that signs a certificate per pod must not
 * grow the scrape without bound: 1,000 series × 17 codes is the most one listener adds.
 */
export const MAX_PEERS_PER_LISTENER = 1000;
/** The label of calls without a verified certificate, or whose certificate lacks that part. */
export const NO_PEER = '';
export const OTHER_PEERS = 'other';

export type PeerLabels = { readonly listener: string; readonly peer: string };

export class PeerSeries {
  readonly calls = new Float64Array(STATUS_SLOTS);
  constructor(readonly labels: PeerLabels) {}
}

/** The label value `kind` picks from an identity. */
export function peerLabelValue(identity: PeerIdentity | undefined, kind: PeerLabel): string {
  if (identity === undefined) return NO_PEER;
  switch (kind) {
    case 'spiffe':
      return identity.spiffeId ?? NO_PEER;
    case 'uri':
      return identity.uri[0] ?? NO_PEER;
    case 'dns':
      return identity.dns[0] ?? NO_PEER;
    case 'email':
      return identity.email[0] ?? NO_PEER;
    case 'cn':
      return identity.commonName ?? NO_PEER;
    case 'subject':
      return identity.subject;
  }
}

interface ListenerPeers {
  readonly kind: PeerLabel;
  /** By identity (the label value). */
  readonly series: Map<string, PeerSeries>;
}

export class PeerCallMetrics {
  /** By listener name; kept across reloads (counters never vanish), kinds replaced. */
  private readonly listeners = new Map<string, ListenerPeers>();
  /** The listeners that count now, by name. */
  private active = new Map<string, ListenerPeers>();

  /** Which listeners count, by what: from the config, again after each reload. */
  configure(listeners: readonly { name: string; tls?: { peerLabel?: PeerLabel } }[]): void {
    const active = new Map<string, ListenerPeers>();
    for (const l of listeners) {
      const kind = l.tls?.peerLabel;
      if (kind === undefined) continue;
      let peers = this.listeners.get(l.name);
      if (peers === undefined || peers.kind !== kind) {
        // Another kind of value under the same label: start afresh rather than mix the two.
        peers = { kind, series: new Map() };
        this.listeners.set(l.name, peers);
      }
      active.set(l.name, peers);
    }
    this.active = active;
  }

  /** True when some listener counts: callers may skip `callEnded` otherwise. */
  get enabled(): boolean {
    return this.active.size > 0;
  }

  callEnded(call: CallRecord): void {
    if (this.active.size === 0 || call.listener === undefined) return;
    const peers = this.active.get(call.listener());
    if (peers === undefined) return;
    const value = peerLabelValue(call.peerIdentity?.(), peers.kind);
    let s = peers.series.get(value);
    if (s === undefined) {
      if (peers.series.size >= MAX_PEERS_PER_LISTENER && value !== OTHER_PEERS) {
        s = peers.series.get(OTHER_PEERS);
        if (s === undefined) {
          s = new PeerSeries({ listener: call.listener(), peer: OTHER_PEERS });
          peers.series.set(OTHER_PEERS, s);
        }
      } else {
        s = new PeerSeries({ listener: call.listener(), peer: value });
        peers.series.set(value, s);
      }
    }
    const code = call.status;
    s.calls[code >= 0 && code < STATUS_SLOTS ? code : Status.UNKNOWN]++;
  }

  /** Every series so far, of listeners that count now or did before a reload. */
  *series(): IterableIterator<PeerSeries> {
    for (const peers of this.listeners.values()) yield* peers.series.values();
  }
}
