// gRPC's length-prefixed messages (1 flag byte, 4-byte big-endian length, the message): framing
// the request the gateway sends, and taking the response's DATA apart again.

/** The 5-byte prefix, then the message; uncompressed (the gateway offers only identity). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Reassembles messages from DATA chunks, which split and join frames anywhere. */
export class MessageDeframer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    /** Larger messages fail the call rather than being buffered (4 MiB, grpc-js's default). */
    private readonly maxMessageBytes = 4 * 1024 * 1024,
  ) {}

  /**
   * Calls `onMessage` for each complete message; returns a problem (a compressed message,
   * one over the limit) or null.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): string | null {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 5) {
      const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [buf];
      const flag = buf[0];
      const length = buf.readUInt32BE(1);
      if (flag !== 0)
        return `the upstream sent a compressed message (flag ${flag}) the gateway did not ask for`;
      if (length > this.maxMessageBytes) {
        return `the upstream sent a message of ${length} bytes, over the gateway's ${this.maxMessageBytes}`;
      }
      if (buf.length < 5 + length) break;
      onMessage(buf.subarray(5, 5 + length));
      const rest = buf.subarray(5 + length);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return null;
  }

  /** Bytes of an incomplete message left when the response ended. */
  get leftover(): number {
    return this.pendingBytes;
  }
}
