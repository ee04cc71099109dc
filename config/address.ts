// Socket addresses as written in config and flags: `host:port`, `[v6]:port`, `:port`.
import type { SocketAddress } from './types.js';

/** Parses a listen or admin address; returns an error message instead of throwing. */
export function parseSocketAddress(text: string): SocketAddress | string {
  const m = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return `"${text}" is not an address (expected host:port, [v6]:port or :port)`;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range (0-65535)`;
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]);
  return { host, port };
}

export function formatSocketAddress(address: SocketAddress): string {
  return address.host.includes(':')
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
