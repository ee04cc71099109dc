// The memory scenarios: 10,000 held streams (memory per stream, cancellation reaching the
// backend), 1 GiB to a slow reader (peak RSS under backpressure), thousands of unread answers
// cancelled (memory given back) and clients that never open their window (memory held for
// them), direct and via the proxy. "direct" weighs the backend process, which then holds the
// same streams itself.
import { backendStats } from './backend-process.js';
import {
  fmtInt,
  proxyPeakRss,
  round1,
  sleep,
  withProxy,
  MiB,
  type BenchContext,
  type ProxyRun,
  type Via,
} from './bench-context.js';
import { cancelUnreadStreams } from './cancel-streams.js';
import { openStreams } from './open-streams.js';
import { holdStalledReaders } from './stalled-readers.js';
import { RssSampler, treeRssBytes } from './proc-stats.js';
import { readSlowly } from './slow-reader.js';

export interface OpenStreamsRun {
  readonly via: Via;
  readonly target: string;
  readonly streams: number;
  readonly connections: number;
  readonly opened: number;
  readonly failed: number;
  readonly openMs: number;
  /** Streams the backend held once all were answered (should equal `opened`). */
  readonly backendHeld: number;
  readonly rssBeforeMb: number;
  readonly rssHeldMb: number;
  readonly peakRssMb: number;
  /** (RSS held - RSS before) / opened. */
  readonly kibPerStream: number | null;
  /** Until every client stream had closed after the cancel. */
  readonly cancelMs: number;
  /** Until the backend held none (the cancel reached it), or null if some were left. */
  readonly backendReleasedMs: number | null;
  readonly backendLeft: number;
  readonly rssAfterCancelMb: number;
}

export interface SlowReaderRun {
  readonly via: Via;
  readonly target: string;
  readonly ok: boolean;
  readonly why?: string;
  readonly grpcStatus?: string;
  readonly receivedBytes: number;
  readonly seconds: number;
  readonly mbPerS: number;
  readonly rssBeforeMb: number;
  readonly peakRssMb: number;
  readonly growthMb: number;
}

export interface CancelStreamsRun {
  readonly via: Via;
  readonly target: string;
  readonly streams: number;
  /** Bytes each answer carries. */
  readonly answerBytes: number;
  readonly cancelled: number;
  readonly failed: number;
  readonly seconds: number;
  readonly rssBeforeMb: number;
  readonly peakRssMb: number;
  /** One second after the last cancel. */
  readonly rssAfterMb: number;
}

export interface StalledReadersRun {
  readonly via: Via;
  readonly target: string;
  readonly connections: number;
  readonly streams: number;
  /** Bytes each call asked for. */
  readonly answerBytes: number;
  readonly answered: number;
  /** Streams the proxy (or backend) reset while they were held. */
  readonly reset: number;
  readonly rssBeforeMb: number;
  readonly peakRssMb: number;
  /** After the clients went away. */
  readonly rssAfterMb: number;
}

type Failed = { readonly via: Via; readonly error: string };

const HOLD_PATH = '/bench.Bench/Hold';

/** Polls the backend until it holds `want` streams, or `timeoutMs` passed; returns ms or null. */
async function waitHeld(ctx: BenchContext, want: number, timeoutMs: number) {
  const t0 = performance.now();
  let held = -1;
  while (performance.now() - t0 < timeoutMs) {
    held = (await backendStats(ctx.backend.ports[0])).held;
    if (held === want) return { ms: Math.round(performance.now() - t0), held };
    await sleep(50);
  }
  return { ms: null, held };
}

async function holdStreams(
  ctx: BenchContext,
  via: Via,
  target: string,
  root: number,
  run: ProxyRun | undefined,
): Promise<OpenStreamsRun> {
  const { openStreams: streams, connections } = ctx.options;
  const name = via === 'direct' ? 'direct' : ctx.proxy.name;
  const sampler = run?.rss ?? new RssSampler(root);
  try {
    // Warm-up: connections to both backends, JIT, first allocations.
    const warm = await openStreams({
      target,
      streams: Math.min(streams, 200),
      connections,
      path: HOLD_PATH,
      timeoutMs: 10_000,
    });
    await warm.cancel(5_000);
    warm.close();
    await waitHeld(ctx, 0, 5_000);
    await sleep(500);
    const before = treeRssBytes(root);
    ctx.log(
      `open-streams via ${name}: opening ${fmtInt(streams)} streams on ${connections} connections`,
    );
    const held = await openStreams({
      target,
      streams,
      connections,
      path: HOLD_PATH,
      timeoutMs: 30_000,
    });
    try {
      const reached = await waitHeld(ctx, held.opened, 5_000);
      await sleep(500);
      const during = treeRssBytes(root);
      sampler.sample();
      const cancelMs = await held.cancel(10_000);
      const released = await waitHeld(ctx, 0, 10_000);
      await sleep(500);
      const after = treeRssBytes(root);
      // The backend's own VmHWM would include earlier scenarios: only the sampled peak counts.
      const peak = run ? proxyPeakRss(run) : sampler.stop();
      const result: OpenStreamsRun = {
        via,
        target: name,
        streams,
        connections,
        opened: held.opened,
        failed: held.failed,
        openMs: held.openMs,
        backendHeld: reached.held,
        rssBeforeMb: round1(before / MiB),
        rssHeldMb: round1(during / MiB),
        peakRssMb: round1(peak / MiB),
        kibPerStream: held.opened > 0 ? round1((during - before) / 1024 / held.opened) : null,
        cancelMs,
        backendReleasedMs: released.ms,
        backendLeft: Math.max(0, released.held),
        rssAfterCancelMb: round1(after / MiB),
      };
      ctx.log(
        `open-streams via ${name}: ${fmtInt(result.opened)} open in ${result.openMs} ms, ` +
          `${result.kibPerStream ?? '–'} KiB/stream, cancelled in ${cancelMs} ms` +
          (result.failed > 0 ? `, ${fmtInt(result.failed)} FAILED` : '') +
          (result.backendLeft > 0
            ? `, ${fmtInt(result.backendLeft)} LEFT OPEN at the backend`
            : ''),
      );
      return result;
    } finally {
      held.close();
    }
  } finally {
    if (!run) sampler.stop();
  }
}

async function slowRead(
  ctx: BenchContext,
  via: Via,
  target: string,
  root: number,
  run: ProxyRun | undefined,
): Promise<SlowReaderRun> {
  const bytes = ctx.options.slowBytes;
  const name = via === 'direct' ? 'direct' : ctx.proxy.name;
  const sampler = run?.rss ?? new RssSampler(root);
  const before = treeRssBytes(root);
  ctx.log(
    `slow-reader via ${name}: streaming ${fmtInt(bytes / MiB)} MiB to a reader paced at ~200 MB/s`,
  );
  const read = await readSlowly({
    target,
    bytes,
    messageBytes: 64 << 10,
    // At most 4 MiB per 20 ms (about 200 MB/s): slower than the backend writes on loopback.
    burstBytes: 4 << 20,
    pauseMs: 20,
    timeoutMs: Math.round((bytes / 20e6) * 1000) + 30_000,
  });
  const peak = run ? proxyPeakRss(run) : Math.max(sampler.stop(), before);
  const result: SlowReaderRun = {
    via,
    target: name,
    ok: read.ok,
    why: read.why,
    grpcStatus: read.grpcStatus,
    receivedBytes: read.received,
    seconds: Math.round(read.seconds * 100) / 100,
    mbPerS: round1(read.received / 1e6 / read.seconds),
    rssBeforeMb: round1(before / MiB),
    peakRssMb: round1(peak / MiB),
    growthMb: round1((peak - before) / MiB),
  };
  ctx.log(
    `slow-reader via ${name}: ${result.ok ? 'ok' : `FAILED (${result.why})`}, ${result.mbPerS} MB/s, ` +
      `RSS ${result.rssBeforeMb} -> peak ${result.peakRssMb} MiB`,
  );
  return result;
}

/** Answers of 16 × 16 KiB: more than a client's 64 KiB window, less than a stream window. */
const CANCEL_MESSAGES = 16;
const CANCEL_MESSAGE_BYTES = 16 << 10;

async function cancelStreams(
  ctx: BenchContext,
  via: Via,
  target: string,
  root: number,
  run: ProxyRun | undefined,
): Promise<CancelStreamsRun> {
  const streams = ctx.options.cancelStreams;
  const name = via === 'direct' ? 'direct' : ctx.proxy.name;
  const sampler = run?.rss ?? new RssSampler(root);
  try {
    const options = {
      target,
      concurrency: 50,
      // Under the 500-reset burst a listener allows one client connection.
      perConnection: 400,
      messages: CANCEL_MESSAGES,
      messageBytes: CANCEL_MESSAGE_BYTES,
      timeoutMs: 10_000,
    };
    await cancelUnreadStreams({ ...options, streams: Math.min(streams, 200) });
    await sleep(500);
    const before = treeRssBytes(root);
    ctx.log(`cancel-streams via ${name}: cancelling ${fmtInt(streams)} unread answers`);
    const result = await cancelUnreadStreams({ ...options, streams });
    await sleep(1_000);
    const after = treeRssBytes(root);
    const peak = run ? proxyPeakRss(run) : Math.max(sampler.stop(), before);
    const out: CancelStreamsRun = {
      via,
      target: name,
      streams,
      answerBytes: CANCEL_MESSAGES * (5 + CANCEL_MESSAGE_BYTES),
      cancelled: result.cancelled,
      failed: result.failed,
      seconds: result.seconds,
      rssBeforeMb: round1(before / MiB),
      peakRssMb: round1(peak / MiB),
      rssAfterMb: round1(after / MiB),
    };
    ctx.log(
      `cancel-streams via ${name}: ${fmtInt(out.cancelled)} cancelled in ${out.seconds} s` +
        (out.failed > 0 ? `, ${fmtInt(out.failed)} FAILED` : '') +
        `, RSS ${out.rssBeforeMb} -> peak ${out.peakRssMb} -> ${out.rssAfterMb} MiB`,
    );
    return out;
  } finally {
    if (!run) sampler.stop();
  }
}

const STALLED_CONNECTIONS = 3;
const STALLED_STREAMS = 100;
const STALLED_MESSAGES = 64;
const STALLED_MESSAGE_BYTES = 64 << 10;
/** How long the stalled clients hold their streams. */
const STALLED_HOLD_MS = 3_000;

async function stalledReaders(
  ctx: BenchContext,
  via: Via,
  target: string,
  root: number,
  run: ProxyRun | undefined,
): Promise<StalledReadersRun> {
  const name = via === 'direct' ? 'direct' : ctx.proxy.name;
  const sampler = run?.rss ?? new RssSampler(root);
  try {
    const before = treeRssBytes(root);
    const streams = STALLED_CONNECTIONS * STALLED_STREAMS;
    ctx.log(
      `stalled-readers via ${name}: ${fmtInt(streams)} streams on ${STALLED_CONNECTIONS} window-0 connections`,
    );
    const held = await holdStalledReaders({
      target,
      connections: STALLED_CONNECTIONS,
      streamsPerConnection: STALLED_STREAMS,
      messages: STALLED_MESSAGES,
      messageBytes: STALLED_MESSAGE_BYTES,
      timeoutMs: 10_000,
    });
    await sleep(STALLED_HOLD_MS);
    const reset = held.reset;
    held.close();
    await sleep(1_000);
    const after = treeRssBytes(root);
    const peak = run ? proxyPeakRss(run) : Math.max(sampler.stop(), before);
    const out: StalledReadersRun = {
      via,
      target: name,
      connections: STALLED_CONNECTIONS,
      streams,
      answerBytes: STALLED_MESSAGES * (5 + STALLED_MESSAGE_BYTES),
      answered: held.answered,
      reset,
      rssBeforeMb: round1(before / MiB),
      peakRssMb: round1(peak / MiB),
      rssAfterMb: round1(after / MiB),
    };
    ctx.log(
      `stalled-readers via ${name}: ${fmtInt(out.answered)} answered, ${fmtInt(reset)} reset, ` +
        `RSS ${out.rssBeforeMb} -> peak ${out.peakRssMb} -> ${out.rssAfterMb} MiB`,
    );
    return out;
  } finally {
    if (!run) sampler.stop();
  }
}

async function both<T extends { via: Via }>(
  ctx: BenchContext,
  what: string,
  fn: (via: Via, target: string, root: number, run: ProxyRun | undefined) => Promise<T>,
): Promise<(T | Failed)[]> {
  const out: (T | Failed)[] = [];
  const backendPid = ctx.backend.process.pid;
  for (const via of ['direct', 'proxy'] as const) {
    try {
      out.push(
        via === 'direct'
          ? await fn(via, `127.0.0.1:${ctx.backend.ports[0]}`, backendPid, undefined)
          : await withProxy(ctx, (run) => fn(via, run.proxy.target, run.proxy.process.pid, run)),
      );
    } catch (err) {
      if (ctx.processes.isStopping) throw err;
      const error = (err as Error).message;
      ctx.log(`${what} via ${via === 'direct' ? 'direct' : ctx.proxy.name}: ${error}`);
      out.push({ via, error });
    }
  }
  return out;
}

export function runOpenStreams(ctx: BenchContext) {
  return both(ctx, 'open-streams', (via, target, root, run) =>
    holdStreams(ctx, via, target, root, run),
  );
}

export function runSlowReader(ctx: BenchContext) {
  return both(ctx, 'slow-reader', (via, target, root, run) =>
    slowRead(ctx, via, target, root, run),
  );
}

export function runCancelStreams(ctx: BenchContext) {
  return both(ctx, 'cancel-streams', (via, target, root, run) =>
    cancelStreams(ctx, via, target, root, run),
  );
}

export function runStalledReaders(ctx: BenchContext) {
  return both(ctx, 'stalled-readers', (via, target, root, run) =>
    stalledReaders(ctx, via, target, root, run),
  );
}
