// The benchmark's JSON document: what one run measured, on which machine, with which options;
// and the problems in it that make the run fail (exit 1).
import type { BalancerBenchResult } from './balancer-bench.js';
import type { BenchOptions } from './bench-options.js';
import type { H2ConnectionBenchResult } from './h2-connection-bench.js';
import type { H2FramesBenchResult } from './h2-frames-bench.js';
import type { HpackBenchResult } from './hpack-bench.js';
import type { ConfigBenchResult } from './config-bench.js';
import type { GatewayBenchResult } from './gateway-bench.js';
import type { LoadScenarioResult } from './load-scenario.js';
import type {
  CancelStreamsRun,
  OpenStreamsRun,
  SlowReaderRun,
  StalledReadersRun,
} from './memory-scenarios.js';
import type { ObserverBenchResult } from './observer-bench.js';
import type { ResolverBenchResult } from './resolver-bench.js';

export interface BenchMeta {
  /** ISO time the run started. */
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly kernel: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly h2load: string | null;
  readonly gitCommit: string | null;
  /** What was measured: the switchyard binary (with extra args) or a --proxy-cmd. */
  readonly proxy: { readonly name: string; readonly command: string };
  /** taskset pinning: CPU lists, or null when not pinned. */
  readonly pinning: { readonly proxyCpu: string; readonly loadCpu: string } | null;
  readonly elapsedS?: number;
}

type Failed = { readonly via: string; readonly error: string };

export type ScenarioResult =
  | LoadScenarioResult
  | {
      readonly kind: 'open-streams';
      readonly about: string;
      readonly runs: (OpenStreamsRun | Failed)[];
    }
  | {
      readonly kind: 'slow-reader';
      readonly about: string;
      readonly runs: (SlowReaderRun | Failed)[];
    }
  | {
      readonly kind: 'cancel-streams';
      readonly about: string;
      readonly runs: (CancelStreamsRun | Failed)[];
    }
  | {
      readonly kind: 'stalled-readers';
      readonly about: string;
      readonly runs: (StalledReadersRun | Failed)[];
    }
  | { readonly kind: 'balancer'; readonly about: string; readonly result: BalancerBenchResult }
  | { readonly kind: 'resolver'; readonly about: string; readonly result: ResolverBenchResult }
  | { readonly kind: 'hpack'; readonly about: string; readonly result: HpackBenchResult }
  | { readonly kind: 'h2-frames'; readonly about: string; readonly result: H2FramesBenchResult }
  | {
      readonly kind: 'h2-connection';
      readonly about: string;
      readonly result: H2ConnectionBenchResult;
    }
  | { readonly kind: 'config'; readonly about: string; readonly result: ConfigBenchResult }
  | { readonly kind: 'observers'; readonly about: string; readonly result: ObserverBenchResult }
  | { readonly kind: 'gateway'; readonly about: string; readonly result: GatewayBenchResult }
  | { readonly kind: 'error'; readonly about: string; readonly error: string };

export interface BenchDocument {
  readonly meta: BenchMeta;
  readonly options: BenchOptions;
  /** By scenario name, in run order. */
  readonly scenarios: Record<string, ScenarioResult>;
  /** Every process the run started (all stopped before it exits). */
  readonly processes: readonly { readonly name: string; readonly pid: number }[];
  /** Why the run counts as failed; empty when it did not. */
  readonly problems: readonly string[];
}

/** Everything in the results that should fail the run, one line each. */
export function findProblems(scenarios: Record<string, ScenarioResult>): string[] {
  const out: string[] = [];
  for (const [name, r] of Object.entries(scenarios)) {
    switch (r.kind) {
      case 'error':
        out.push(`${name}: ${r.error}`);
        break;
      case 'load':
        for (const run of [r.direct, r.proxy]) {
          if ('error' in run) {
            out.push(`${name}: ${run.error.split('\n')[0]}`);
            continue;
          }
          const who = `${name} via ${run.target}`;
          if (!run.check.ok) out.push(`${who}: gRPC check failed: ${run.check.why}`);
          if (run.errors > 0) out.push(`${who}: ${run.errors} calls failed`);
          if (run.timedOut) out.push(`${who}: h2load was stopped by the time limit`);
          if (run.via === 'proxy') {
            const idle = Object.entries(run.backendCalls).filter(([, n]) => n === 0);
            for (const [port] of idle) out.push(`${who}: backend port ${port} got no calls`);
          }
        }
        break;
      case 'open-streams':
        for (const run of r.runs) {
          if ('error' in run) out.push(`${name} via ${run.via}: ${run.error}`);
          else {
            if (run.failed > 0) out.push(`${name} via ${run.target}: ${run.failed} streams failed`);
            if (run.backendLeft > 0) {
              out.push(
                `${name} via ${run.target}: ${run.backendLeft} streams left open after cancel`,
              );
            }
          }
        }
        break;
      case 'slow-reader':
        for (const run of r.runs) {
          if ('error' in run) out.push(`${name} via ${run.via}: ${run.error}`);
          else if (!run.ok) out.push(`${name} via ${run.target}: ${run.why}`);
        }
        break;
      case 'stalled-readers':
        for (const run of r.runs)
          if ('error' in run) out.push(`${name} via ${run.via}: ${run.error}`);
        break;
      case 'cancel-streams':
        for (const run of r.runs) {
          if ('error' in run) out.push(`${name} via ${run.via}: ${run.error}`);
          else if (run.failed > 0) {
            out.push(`${name} via ${run.target}: ${run.failed} calls not answered`);
          }
        }
        break;
      default:
        break;
    }
  }
  return out;
}
