// gRPC's length-prefixed messages (1 flag byte, 4-byte big-endian length, the message) read
// out of DATA chunks, which split a message anywhere and may carry several: for calls whose
// filters look at messages. The chunks themselves are not changed. A message inside one chunk
// is a view of it; a message split across chunks is copied once, when its last piece arrives.
import { Status } from './grpc-status.js';

/** Receives each complete message; false stops reading (the call is being ended). */
export interface MessageSink {
  message(bytes: Buffer, compressed: boolean): boolean;
}

/** Why a stream's framing cannot be read on. */
export interface FramingProblem {
  readonly code: number;
  readonly message: string;
}

/** The prefix: compressed flag (0 or 1) and length. */
const PREFIX_BYTES = 5;

export class MessageReader {
  /** Messages completed so far. */
  count = 0;
  /** A prefix split across chunks, gathered here. */
  private prefix: Buffer | null = null;
  private prefixBytes = 0;
  /** The length of the message being read; -1 while reading a prefix. */
  private length = -1;
  private compressed = false;
  /** The pieces of a message split across chunks. */
  private parts: Buffer[] | null = null;
  private partBytes = 0;

  constructor(
    /** Larger messages end the call RESOURCE_EXHAUSTED instead of being gathered. */
    readonly maxMessageBytes: number,
    /** `request` or `response`, for messages. */
    private readonly what: string,
    /** Who reads, for the message about the limit. */
    private readonly reader = 'filters',
  ) {}

  /** Bytes of a message (or prefix) begun and not complete. */
  get pending(): number {
    return this.length < 0 ? this.prefixBytes : PREFIX_BYTES + this.partBytes;
  }

  /**
   * Reads `chunk`, giving `sink` each message it completes; null, or the problem that ends the
   * call (a message over the limit, a flag other than 0 or 1). Stops early when `sink` says so.
   */
  read(chunk: Buffer, sink: MessageSink): FramingProblem | null {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.length < 0) {
        let flag: number;
        let length: number;
        if (this.prefixBytes === 0 && end - pos >= PREFIX_BYTES) {
          flag = chunk[pos];
          length = chunk.readUInt32BE(pos + 1);
          pos += PREFIX_BYTES;
        } else {
          const prefix = (this.prefix ??= Buffer.allocUnsafe(PREFIX_BYTES));
          const take = Math.min(PREFIX_BYTES - this.prefixBytes, end - pos);
          chunk.copy(prefix, this.prefixBytes, pos, pos + take);
          this.prefixBytes += take;
          pos += take;
          if (this.prefixBytes < PREFIX_BYTES) return null;
          this.prefixBytes = 0;
          flag = prefix[0];
          length = prefix.readUInt32BE(1);
        }
        if (flag > 1) {
          return {
            code: Status.INTERNAL,
            message: `${this.what} message ${this.count} has compressed flag ${flag}, not 0 or 1`,
          };
        }
        if (length > this.maxMessageBytes) {
          return {
            code: Status.RESOURCE_EXHAUSTED,
            message: `${this.what} message ${this.count} of ${length} bytes is over the ${this.maxMessageBytes} that ${this.reader} read`,
          };
        }
        this.compressed = flag === 1;
        this.length = length;
        if (length === 0) {
          if (!this.complete(Buffer.alloc(0), sink)) return null;
          continue;
        }
      }
      const need = this.length - this.partBytes;
      const have = end - pos;
      if (this.partBytes === 0 && have >= need) {
        const message = chunk.subarray(pos, pos + need);
        pos += need;
        if (!this.complete(message, sink)) return null;
        continue;
      }
      const take = Math.min(need, have);
      (this.parts ??= []).push(chunk.subarray(pos, pos + take));
      this.partBytes += take;
      pos += take;
      if (this.partBytes === this.length) {
        const message = Buffer.concat(this.parts, this.length);
        this.parts = null;
        this.partBytes = 0;
        if (!this.complete(message, sink)) return null;
      }
    }
    return null;
  }

  private complete(message: Buffer, sink: MessageSink): boolean {
    const compressed = this.compressed;
    this.length = -1;
    this.count++;
    return sink.message(message, compressed);
  }
}
