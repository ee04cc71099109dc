// What every scenario runner gets: options, the running backend, how to start the proxy under
// test, and where progress goes; plus small helpers they share.
import type { RunningBackend } from './backend-process.js';
import type { BenchOptions } from './bench-options.js';
import type { ChildProcesses } from './child-processes.js';
import { peakRssBytes, RssSampler } from './proc-stats.js';
import { startProxy, type ProxySpec, type RunningProxy } from './proxy-process.js';

export interface BenchContext {
  readonly options: BenchOptions;
  readonly processes: ChildProcesses;
  readonly backend: RunningBackend;
  readonly proxy: ProxySpec;
  /** taskset CPU list for load generators, or undefined when not pinning. */
  readonly loadCpu: string | undefined;
  /** A private temporary directory (request bodies, h2load logs), removed at exit. */
  readonly workDir: string;
  /** One progress line on stderr. */
  log(line: string): void;
}

/** Where a scenario sends its calls: straight to the backend, or through the proxy. */
export type Via = 'direct' | 'proxy';

export interface ProxyRun {
  readonly proxy: RunningProxy;
  readonly rss: RssSampler;
}

/** Peak memory of the proxy's tree: the larger of the sampled peak and the kernel's VmHWM. */
export function proxyPeakRss(run: ProxyRun): number {
  return Math.max(run.rss.stop(), peakRssBytes(run.proxy.process.pid));
}

/**
 * Starts a fresh proxy (so each scenario's memory figures are its own), samples its memory
 * every 100 ms while `body` runs, and stops it afterwards whatever happens.
 */
export async function withProxy<T>(
  ctx: BenchContext,
  body: (run: ProxyRun) => Promise<T>,
): Promise<T> {
  const proxy = await startProxy(ctx.processes, ctx.proxy, ctx.backend.addresses);
  const rss = new RssSampler(proxy.process.pid);
  try {
    return await body({ proxy, rss });
  } finally {
    rss.stop();
    await ctx.processes.stop(proxy.process);
  }
}

export const MiB = 1 << 20;
export const round1 = (x: number) => Math.round(x * 10) / 10;
export const round3 = (x: number) => Math.round(x * 1000) / 1000;
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** 12,345 */
export const fmtInt = (x: number | null | undefined) =>
  x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US');
