// gRPC's length-prefixed messages (1 flag byte, 4-byte big-endian length, the message): framing
// the request the gateway sends, and taking the response's DATA apart again.
import { MessageReader, type MessageSink } from '../grpc/message-reader.js';

/** The 5-byte prefix, then the message; uncompressed (the gateway offers only identity). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * Reassembles messages from DATA chunks, which split and join frames anywhere: the reader that
 * filters' message hooks use (grpc/message-reader.ts), which views a message inside one chunk
 * and copies a split one once, with the gateway's rule on top: it asks for no compression, so
 * a compressed message is a failure.
 */
export class MessageDeframer {
  private readonly reader: MessageReader;
  private onMessage: (message: Buffer) => void = () => {};
  private compressed = false;
  private readonly sink: MessageSink = {
    message: (bytes, compressed) => {
      if (compressed) {
        this.compressed = true;
        return false;
      }
      this.onMessage(bytes);
      return true;
    },
  };

  constructor(
    /** Larger messages fail the call rather than being buffered (4 MiB, grpc-js's default). */
    maxMessageBytes = 4 * 1024 * 1024,
  ) {
    this.reader = new MessageReader(maxMessageBytes, 'response', 'the gateway will');
  }

  /**
   * Calls `onMessage` for each complete message; returns a problem (a compressed message,
   * one over the limit) or null.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): string | null {
    this.onMessage = onMessage;
    const problem = this.reader.read(chunk, this.sink);
    if (this.compressed)
      return 'the upstream sent a compressed message the gateway did not ask for';
    return problem === null ? null : `the upstream's ${problem.message}`;
  }

  /** Bytes of an incomplete message left when the response ended. */
  get leftover(): number {
    return this.reader.pending;
  }
}
