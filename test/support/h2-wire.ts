// HTTP/2 on the wire for tests that play a hostile or broken peer: frames built byte by byte
// (RFC 9113 §4, §6), header blocks as HPACK literals (RFC 7541 §6.2.2, no Huffman, no table),
// and a reader that splits what the proxy sends into frames. Deliberately independent of
// node:http2 and of the proxy's own code, so it can say things neither would.
import net from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** One frame: the 9-byte header (length, type, flags, stream id) and its payload. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(out, 9);
  return out;
}

export function settingsFrame(settings: Readonly<Record<number, number>> = {}): Buffer {
  const ids = Object.keys(settings).map(Number);
  const payload = Buffer.alloc(6 * ids.length);
  ids.forEach((id, i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(settings[id], 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export const SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);

export function pingFrame(data = Buffer.alloc(8), ack = false): Buffer {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment & 0x7fffffff);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8');
  const payload = Buffer.alloc(8 + text.length);
  payload.writeUInt32BE(lastStreamId & 0x7fffffff);
  payload.writeUInt32BE(code, 4);
  text.copy(payload, 8);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

export function dataFrame(streamId: number, data: Buffer, endStream = false): Buffer {
  return frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, data);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInteger(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from(hpackInteger(bytes.length, 7, 0)), bytes]);
}

/**
 * A header block of literal fields without indexing and with literal names: any decoder
 * accepts it, and it leaves the peer's dynamic table untouched, so blocks can be sent in any
 * order or dropped.
 */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value));
  }
  return Buffer.concat(parts);
}

export function headersFrame(
  streamId: number,
  fields: ReadonlyArray<readonly [string, string]>,
  options: { endStream?: boolean; endHeaders?: boolean } = {},
): Buffer {
  const flags =
    (options.endStream ? Flag.END_STREAM : 0) |
    (options.endHeaders === false ? 0 : Flag.END_HEADERS);
  return frame(FrameType.HEADERS, flags, streamId, headerBlock(fields));
}

/** The request header fields of a gRPC call to `path`. */
export function grpcRequestFields(
  path: string,
  authority = 'localhost',
  extra: ReadonlyArray<readonly [string, string]> = [],
): Array<readonly [string, string]> {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ];
}

/** One length-prefixed gRPC message (uncompressed). */
export function grpcMessage(payload: Buffer): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** Splits a byte stream into frames; the payloads are copies, safe to keep. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);
  private skipPreface: boolean;

  /** `expectPreface`: the stream starts with the client preface (a server's view). */
  constructor(expectPreface = false) {
    this.skipPreface = expectPreface;
  }

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.skipPreface) {
      if (this.buffered.length < PREFACE.length) return [];
      this.buffered = this.buffered.subarray(PREFACE.length);
      this.skipPreface = false;
    }
    const frames: Frame[] = [];
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      frames.push({
        type: this.buffered[3],
        flags: this.buffered[4],
        streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buffered.subarray(9, 9 + length)),
      });
      this.buffered = this.buffered.subarray(9 + length);
    }
    return frames;
  }
}

/** The error code and last stream id of a GOAWAY frame. */
export function parseGoaway(f: Frame): { lastStreamId: number; code: number; debug: string } {
  return {
    lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
    code: f.payload.readUInt32BE(4),
    debug: f.payload.subarray(8).toString('utf8'),
  };
}

/**
 * A raw HTTP/2 client connection: sends what a test writes, records every frame it receives,
 * and answers nothing on its own unless told to (`ackSettings`).
 */
export class RawH2Connection {
  readonly frames: Frame[] = [];
  closed = false;
  /** Set when the socket closed: whether the proxy closed it (`end`) or it was reset. */
  closedBy: 'end' | 'error' | undefined;
  private readonly reader = new FrameReader();
  private waiters: Array<() => void> = [];

  private constructor(
    readonly socket: net.Socket,
    private readonly ackSettings: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) {
        this.frames.push(f);
        if (this.ackSettings && f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0) {
          if (!socket.destroyed) socket.write(SETTINGS_ACK);
        }
      }
      this.wake();
    });
    socket.on('error', () => {
      this.closedBy ??= 'error';
    });
    socket.on('close', () => {
      this.closed = true;
      this.closedBy ??= 'end';
      this.wake();
    });
  }

  /**
   * Connects to `port` on loopback. With `handshake` (the default) it sends the preface and
   * an empty SETTINGS, and acknowledges the peer's SETTINGS from then on.
   */
  static async open(
    port: number,
    options: { handshake?: boolean; settings?: Record<number, number>; host?: string } = {},
  ): Promise<RawH2Connection> {
    const socket = net.connect({ port, host: options.host ?? '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const handshake = options.handshake ?? true;
    const conn = new RawH2Connection(socket, handshake);
    if (handshake) conn.write(Buffer.concat([PREFACE, settingsFrame(options.settings)]));
    return conn;
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Frames received so far that match. */
  received(type: number, streamId?: number): Frame[] {
    return this.frames.filter(
      (f) => f.type === type && (streamId === undefined || f.streamId === streamId),
    );
  }

  /**
   * Resolves with the first received frame that matches (already received or arriving within
   * `timeoutMs`), or undefined if none does in time or the connection closes first.
   */
  async waitFor(match: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true once the socket has closed, false if it is still open after `timeoutMs`. */
  async waitClosed(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A raw HTTP/2 server on loopback that plays a backend: `onConnection` gets each accepted
 * socket after the client preface and its frames, to answer as the test wants.
 */
export interface RawH2Server {
  readonly port: number;
  readonly address: string;
  /** Sockets accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startRawH2Server(
  onConnection: (socket: net.Socket, frames: (listener: (f: Frame) => void) => void) => void,
): Promise<RawH2Server> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader(true);
    const listeners: Array<(f: Frame) => void> = [];
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) for (const l of listeners) l(f);
    });
    onConnection(socket, (listener) => listeners.push(listener));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
