// Turns per-call records into per-backend counts and latency percentiles, and prints them.

/** The four gRPC call kinds the route guide workload cycles through. */
export type CallKind = 'unary' | 'server-streaming' | 'client-streaming' | 'bidi';

/** The outcome of one call. */
export interface CallRecord {
  kind: CallKind;
  /** The `x-backend` response header, or undefined when the call got no headers. */
  backend: string | undefined;
  /** From the call's start until its status arrived. */
  latencyMs: number;
  ok: boolean;
  /** `CODE_NAME: details` for a failed call. */
  error?: string;
}

export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface BackendSummary extends LatencyPercentiles {
  /** The backend name, or `(none)` for calls that never reached one. */
  backend: string;
  calls: number;
  ok: number;
  failed: number;
  /** calls / all calls, 0..1. */
  share: number;
}

export interface WorkloadSummary {
  total: number;
  ok: number;
  failed: number;
  /** Latency percentiles over every call. */
  latency: LatencyPercentiles;
  /** One row per backend, sorted by name (`(none)` last). */
  backends: BackendSummary[];
  /** How often each error string occurred, most frequent first. */
  errors: Array<{ error: string; count: number }>;
}

/** Label for calls without an `x-backend` header. */
export const NO_BACKEND = '(none)';

/** Nearest-rank percentile (`q` in 0..1) of an ascending array; 0 for an empty one. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

function percentiles(latencies: number[]): LatencyPercentiles {
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
  };
}

/** Per-backend counts and p50/p90/p99 latencies (ms) of a finished workload. */
export function summarize(records: readonly CallRecord[]): WorkloadSummary {
  const groups = new Map<string, CallRecord[]>();
  const errors = new Map<string, number>();
  for (const record of records) {
    const key = record.backend ?? NO_BACKEND;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(record);
    if (!record.ok) {
      const error = record.error ?? 'unknown error';
      errors.set(error, (errors.get(error) ?? 0) + 1);
    }
  }
  const backends: BackendSummary[] = [];
  for (const [backend, group] of groups) {
    const ok = group.filter((r) => r.ok).length;
    backends.push({
      backend,
      calls: group.length,
      ok,
      failed: group.length - ok,
      share: records.length === 0 ? 0 : group.length / records.length,
      ...percentiles(group.map((r) => r.latencyMs)),
    });
  }
  backends.sort((a, b) =>
    a.backend === NO_BACKEND
      ? 1
      : b.backend === NO_BACKEND
        ? -1
        : a.backend.localeCompare(b.backend),
  );
  const ok = records.filter((r) => r.ok).length;
  return {
    total: records.length,
    ok,
    failed: records.length - ok,
    latency: percentiles(records.map((r) => r.latencyMs)),
    backends,
    errors: [...errors]
      .map(([error, count]) => ({ error, count }))
      .sort((a, b) => b.count - a.count || a.error.localeCompare(b.error)),
  };
}

/**
 * Renders the summary as an aligned text table: one row per backend and a total row, then
 * the errors (if any), each line ending in a newline.
 */
export function formatSummary(summary: WorkloadSummary): string {
  const header = ['backend', 'calls', 'share', 'ok', 'failed', 'p50 ms', 'p90 ms', 'p99 ms'];
  const row = (
    label: string,
    calls: number,
    share: number,
    ok: number,
    failed: number,
    latency: LatencyPercentiles,
  ): string[] => [
    label,
    String(calls),
    `${(share * 100).toFixed(1)}%`,
    String(ok),
    String(failed),
    latency.p50.toFixed(2),
    latency.p90.toFixed(2),
    latency.p99.toFixed(2),
  ];
  const rows = summary.backends.map((b) => row(b.backend, b.calls, b.share, b.ok, b.failed, b));
  rows.push(
    row(
      'total',
      summary.total,
      summary.total === 0 ? 0 : 1,
      summary.ok,
      summary.failed,
      summary.latency,
    ),
  );
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((cells) => (cells[i] ?? '').length)));
  // The first column is text (left-aligned); the others are numbers (right-aligned).
  const lines = table.map((cells) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  for (const { error, count } of summary.errors) lines.push(`${count} × ${error}`);
  return lines.join('\n') + '\n';
}
