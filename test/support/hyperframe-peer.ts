// Drives hyperframe-peer.py (Debian's python3-hyperframe) from tests: an independent HTTP/2
// frame codec that parses what the frame layer wrote and builds frames for its parser. Also
// turns a frame list into the events the frame layer's parser reports for it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FrameEvent } from './frame-recorder.js';

/** Debian's python, which has python3-hyperframe (the python3 on PATH may not). */
export const DEBIAN_PYTHON = '/usr/bin/python3';

// Compiled code runs from <repo>/dist/test/support; the script stays in <repo>/test/fixtures.
const SCRIPT = fileURLToPath(new URL('../../../test/fixtures/hyperframe-peer.py', import.meta.url));

/** One frame as hyperframe sees it (octets as hex). */
export interface PeerFrame {
  type: number;
  flags: number;
  stream: number;
  /** Payload length (parse answers only). */
  length?: number;
  data?: string;
  pad?: number;
  dependency?: number;
  weight?: number;
  exclusive?: boolean;
  code?: number;
  settings?: Array<[number, number]>;
  opaque?: string;
  lastStreamId?: number;
  debug?: string;
  increment?: number;
  promised?: number;
  body?: string;
}

export class HyperframePeer {
  private readonly waiting: Array<(line: string) => void> = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }

  static start(): HyperframePeer {
    const child = spawn(DEBIAN_PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`hyperframe-peer: ${stderr}\n`);
    });
    return new HyperframePeer(child);
  }

  private async ask(request: object): Promise<Record<string, unknown>> {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('hyperframe-peer did not answer')), 30_000);
      this.waiting.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
    const answer = JSON.parse(line) as Record<string, unknown>;
    if (typeof answer.error === 'string') throw new Error(`hyperframe: ${answer.error}`);
    return answer;
  }

  /** hyperframe's reading of `bytes` (a leading client preface is skipped). */
  async parse(bytes: Buffer): Promise<PeerFrame[]> {
    return (await this.ask({ parse: bytes.toString('hex') })).frames as PeerFrame[];
  }

  /** The frames serialized by hyperframe. */
  async build(frames: readonly PeerFrame[]): Promise<Buffer> {
    return Buffer.from((await this.ask({ build: frames })).hex as string, 'hex');
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

/**
 * The events the frame layer's parser should report for these frames (a client's parser):
 * CONTINUATION merged into its HEADERS or PUSH_PROMISE, padding removed, unknown settings and
 * extension payloads dropped.
 */
export function expectedEvents(frames: readonly PeerFrame[]): FrameEvent[] {
  const out: FrameEvent[] = [];
  let open: { index: number; data: string } | undefined;
  for (const f of frames) {
    const data = f.data ?? '';
    const pad = (f.flags & PADDED) !== 0 ? (f.pad ?? 0) : 0;
    switch (f.type) {
      case 0x0:
        out.push({
          kind: 'data',
          streamId: f.stream,
          data,
          endStream: (f.flags & END_STREAM) !== 0,
          flowLength: data.length / 2 + ((f.flags & PADDED) !== 0 ? 1 + pad : 0),
        });
        break;
      case 0x1:
        out.push({
          kind: 'headers',
          streamId: f.stream,
          block: data,
          endStream: (f.flags & END_STREAM) !== 0,
          dependency: (f.flags & PRIORITY) !== 0 ? f.dependency! : -1,
          weight: (f.flags & PRIORITY) !== 0 ? f.weight! : 0,
          exclusive: (f.flags & PRIORITY) !== 0 ? f.exclusive! : false,
        });
        if ((f.flags & END_HEADERS) === 0) open = { index: out.length - 1, data };
        break;
      case 0x2:
        out.push({
          kind: 'priority',
          streamId: f.stream,
          dependency: f.dependency!,
          weight: f.weight!,
          exclusive: f.exclusive!,
        });
        break;
      case 0x3:
        out.push({ kind: 'rst', streamId: f.stream, code: f.code! });
        break;
      case 0x4:
        out.push({
          kind: 'settings',
          ack: (f.flags & ACK) !== 0,
          entries: (f.settings ?? []).filter(([id]) => id >= 1 && id <= 6),
        });
        break;
      case 0x5:
        out.push({ kind: 'push', streamId: f.stream, promised: f.promised!, block: data });
        if ((f.flags & END_HEADERS) === 0) open = { index: out.length - 1, data };
        break;
      case 0x6:
        out.push({ kind: 'ping', ack: (f.flags & ACK) !== 0, opaque: f.opaque! });
        break;
      case 0x7:
        out.push({
          kind: 'goaway',
          lastStreamId: f.lastStreamId!,
          code: f.code!,
          debug: f.debug ?? '',
        });
        break;
      case 0x8:
        out.push({ kind: 'window', streamId: f.stream, increment: f.increment! });
        break;
      case 0x9: {
        if (open === undefined) throw new Error('CONTINUATION without an open block');
        open.data += data;
        const e = out[open.index];
        if (e.kind === 'headers') e.block = open.data;
        else if (e.kind === 'push') e.block = open.data;
        if ((f.flags & END_HEADERS) !== 0) open = undefined;
        break;
      }
      default:
        out.push({
          kind: 'unknown',
          type: f.type,
          flags: f.flags,
          streamId: f.stream,
          length: f.length ?? (f.body ?? '').length / 2,
        });
    }
  }
  return out;
}
