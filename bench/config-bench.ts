// Config loading benchmark: a valid file of 1 MB and one of 10 MB (clusters with balancers,
// health checks, outlier detection and timeouts, two routes to each), each loaded the way a
// reload loads it: in the loader process, which reports its CPU time and peak memory.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfigApart } from '../bin/config-loader.js';

export interface ConfigBenchOptions {
  /** Target file sizes in bytes. Default 1 MB and 10 MB. */
  readonly sizes?: readonly number[];
  /** Where the files are written. */
  readonly dir: string;
}

export interface ConfigBenchRow {
  readonly bytes: number;
  readonly clusters: number;
  readonly routes: number;
  /** From starting the loader to its answer, wall clock. */
  readonly ms: number;
  /** The loader process's CPU time (user + system), its start included. */
  readonly cpuMs: number;
  readonly peakRssMb: number;
}

export interface ConfigBenchResult {
  readonly rows: readonly ConfigBenchRow[];
}

/** A valid config of at least `bytes`: its text and how many clusters and routes it has. */
export function benchConfig(bytes: number): { text: string; clusters: number; routes: number } {
  const head = ['listeners:', '  - address: 127.0.0.1:0', 'clusters:'];
  const clusters: string[] = [];
  const routes: string[] = ['routes:'];
  let size = head.join('\n').length + 8;
  let n = 0;
  while (size < bytes) {
    const name = `svc-${String(n).padStart(6, '0')}`;
    const cluster = [
      `  ${name}:`,
      `    target: dns:///${name}.internal:50051`,
      '    balancer: { policy: least_loaded, decayMs: 5s }',
      '    timeouts: { default: 30s, max: 5m }',
      '    healthCheck: { interval: 5s }',
      '    outlierDetection: {}',
    ];
    const route = [
      `  - match: { service: pkg${n}.Users, method: Get }`,
      `    cluster: ${name}`,
      `  - match: { prefix: /pkg${n}.Orders/ }`,
      `    cluster: ${name}`,
    ];
    clusters.push(...cluster);
    routes.push(...route);
    for (const line of [...cluster, ...route]) size += line.length + 1;
    n++;
  }
  return { text: [...head, ...clusters, ...routes, ''].join('\n'), clusters: n, routes: 2 * n };
}

export async function configBench(options: ConfigBenchOptions): Promise<ConfigBenchResult> {
  const rows: ConfigBenchRow[] = [];
  for (const bytes of options.sizes ?? [1_000_000, 10_000_000]) {
    const { text, clusters, routes } = benchConfig(bytes);
    const file = path.join(options.dir, `config-${bytes}.yaml`);
    writeFileSync(file, text);
    const started = performance.now();
    const outcome = await loadConfigApart({ file }, () => undefined).outcome;
    const ms = performance.now() - started;
    if (outcome.kind !== 'loaded')
      throw new Error(`the bench config is invalid: ${outcome.error.message}`);
    rows.push({
      bytes: Buffer.byteLength(text),
      clusters,
      routes,
      ms: Math.round(ms),
      cpuMs: outcome.usage.cpuMs,
      peakRssMb: Math.round((outcome.usage.peakRssBytes / (1 << 20)) * 10) / 10,
    });
  }
  return { rows };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-config-bench-'));
  try {
    console.table((await configBench({ dir })).rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
