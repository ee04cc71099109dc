// Renders a benchmark document as markdown tables (what `npm run bench` prints on stdout).
import type { BenchDocument, ScenarioResult } from './bench-document.js';
import { fmtInt } from './bench-context.js';
import { gatewayTable } from './gateway-bench.js';
import type { H2FramesCost } from './h2-frames-bench.js';
import type { LoadRun, LoadScenarioResult } from './load-scenario.js';
import type {
  CancelStreamsRun,
  OpenStreamsRun,
  SlowReaderRun,
  StalledReadersRun,
} from './memory-scenarios.js';

const dash = '–';
const fixed = (x: number | null | undefined, digits: number) =>
  x === null || x === undefined ? dash : x.toFixed(digits);

function table(header: readonly string[], rows: readonly (readonly string[])[], left = 2): string {
  const align = header.map((_, i) => (i < left ? ' --- ' : ' ---: '));
  return [
    `| ${header.join(' | ')} |`,
    `|${align.join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function size(bytes: number): string {
  return bytes >= 1024 ? `${bytes >> 10} KiB` : `${bytes} B`;
}

function loadRows(name: string, r: LoadScenarioResult, proxyName: string): string[][] {
  const shape = `${r.clients}x${r.streams}, ${size(r.responseBytes)}${r.messages > 1 ? ` x ${r.messages}` : ''}`;
  const direct = 'error' in r.direct ? undefined : r.direct;
  const row = (run: LoadRun | { error: string }, via: string): string[] => {
    if ('error' in run) {
      return [
        name,
        via,
        shape,
        ...Array<string>(13).fill(dash),
        `ERROR: ${run.error.split('\n')[0]}`,
      ];
    }
    const l = run.latency;
    const added = (k: 'p50Ms' | 'p99Ms') =>
      run.via === 'proxy' && direct?.latency?.[k] != null && l?.[k] != null
        ? fmtInt((l[k] - direct.latency[k]) * 1000)
        : dash;
    return [
      name,
      via,
      shape,
      fmtInt(run.rps),
      fixed(run.mbPerS, 1),
      fixed(l?.p50Ms, 3),
      fixed(l?.p99Ms, 3),
      fixed(l?.p999Ms, 3),
      fmtInt(run.errors),
      run.cpu.proxyUsPerMB !== null
        ? `${fmtInt(run.cpu.proxyUsPerCall)} (${fmtInt(run.cpu.proxyUsPerMB)}/MB)`
        : fixed(run.cpu.proxyUsPerCall, 1),
      fixed(run.cpu.proxyPct, 0),
      fixed(run.proxyPeakRssMb, 1),
      run.via === 'proxy' ? fixed(r.ratio, 2) : dash,
      added('p50Ms'),
      added('p99Ms'),
      fixed(run.cpu.otherPct, 0),
      run.check.ok ? 'ok' : `FAIL: ${run.check.why}`,
    ];
  };
  return [row(r.direct, 'direct'), row(r.proxy, proxyName)];
}

function loadTable(entries: [string, LoadScenarioResult][], proxyName: string): string {
  const header = [
    'scenario',
    'via',
    'load (c x m, response)',
    'req/s',
    'MB/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'errors',
    'proxy CPU µs/call',
    'proxy CPU %',
    'proxy peak RSS MiB',
    'vs direct',
    '+p50 µs',
    '+p99 µs',
    'other CPU %',
    'gRPC check',
  ];
  return table(
    header,
    entries.flatMap(([name, r]) => loadRows(name, r, proxyName)),
    3,
  );
}

function openStreamsTable(runs: readonly (OpenStreamsRun | { via: string; error: string })[]) {
  const header = [
    'via',
    'streams',
    'opened',
    'open time ms',
    'RSS before MiB',
    'RSS held MiB',
    'KiB per stream',
    'peak RSS MiB',
    'cancel ms',
    'backend released ms',
    'RSS after cancel MiB',
  ];
  const rows = runs.map((r) =>
    'error' in r
      ? [r.via, ...Array<string>(9).fill(dash), `ERROR: ${r.error}`]
      : [
          r.target,
          fmtInt(r.streams),
          `${fmtInt(r.opened)}${r.failed ? ` (${fmtInt(r.failed)} failed)` : ''}`,
          fmtInt(r.openMs),
          fixed(r.rssBeforeMb, 1),
          fixed(r.rssHeldMb, 1),
          fixed(r.kibPerStream, 1),
          fixed(r.peakRssMb, 1),
          fmtInt(r.cancelMs),
          r.backendReleasedMs === null
            ? `${fmtInt(r.backendLeft)} left`
            : fmtInt(r.backendReleasedMs),
          fixed(r.rssAfterCancelMb, 1),
        ],
  );
  return table(header, rows, 1);
}

function slowReaderTable(runs: readonly (SlowReaderRun | { via: string; error: string })[]) {
  const header = [
    'via',
    'received MiB',
    'seconds',
    'MB/s',
    'RSS before MiB',
    'peak RSS MiB',
    'growth MiB',
    'result',
  ];
  const rows = runs.map((r) =>
    'error' in r
      ? [r.via, ...Array<string>(6).fill(dash), `ERROR: ${r.error}`]
      : [
          r.target,
          fmtInt(r.receivedBytes / (1 << 20)),
          fixed(r.seconds, 2),
          fixed(r.mbPerS, 1),
          fixed(r.rssBeforeMb, 1),
          fixed(r.peakRssMb, 1),
          fixed(r.growthMb, 1),
          r.ok ? `ok (grpc-status ${r.grpcStatus})` : `FAIL: ${r.why}`,
        ],
  );
  return table(header, rows, 1);
}

function cancelStreamsTable(runs: readonly (CancelStreamsRun | { via: string; error: string })[]) {
  const header = [
    'via',
    'calls',
    'answer KiB',
    'cancelled',
    'seconds',
    'RSS before MiB',
    'peak RSS MiB',
    'RSS after MiB',
  ];
  const rows = runs.map((r) =>
    'error' in r
      ? [r.via, ...Array<string>(6).fill(dash), `ERROR: ${r.error}`]
      : [
          r.target,
          fmtInt(r.streams),
          fmtInt(r.answerBytes / 1024),
          `${fmtInt(r.cancelled)}${r.failed ? ` (${fmtInt(r.failed)} failed)` : ''}`,
          fixed(r.seconds, 1),
          fixed(r.rssBeforeMb, 1),
          fixed(r.peakRssMb, 1),
          fixed(r.rssAfterMb, 1),
        ],
  );
  return table(header, rows, 1);
}

function stalledReadersTable(
  runs: readonly (StalledReadersRun | { via: string; error: string })[],
) {
  const header = [
    'via',
    'streams',
    'answer MiB',
    'answered',
    'reset while held',
    'RSS before MiB',
    'peak RSS MiB',
    'RSS after MiB',
  ];
  const rows = runs.map((r) =>
    'error' in r
      ? [r.via, ...Array<string>(6).fill(dash), `ERROR: ${r.error}`]
      : [
          r.target,
          `${fmtInt(r.streams)} on ${r.connections}`,
          fixed(r.answerBytes / (1 << 20), 1),
          fmtInt(r.answered),
          fmtInt(r.reset),
          fixed(r.rssBeforeMb, 1),
          fixed(r.peakRssMb, 1),
          fixed(r.rssAfterMb, 1),
        ],
  );
  return table(header, rows, 1);
}

function section(name: string, r: ScenarioResult): string | undefined {
  switch (r.kind) {
    case 'open-streams':
      return `### ${name}: ${r.about}\n\n"direct" weighs the backend process holding the streams itself.\n\n${openStreamsTable(r.runs)}`;
    case 'slow-reader':
      return `### ${name}: ${r.about}\n\n"direct" weighs the backend process.\n\n${slowReaderTable(r.runs)}`;
    case 'cancel-streams':
      return `### ${name}: ${r.about}\n\n"direct" weighs the backend process.\n\n${cancelStreamsTable(r.runs)}`;
    case 'stalled-readers':
      return `### ${name}: ${r.about}\n\n"direct" weighs the backend process.\n\n${stalledReadersTable(r.runs)}`;
    case 'balancer': {
      const rows = r.result.rows.map((row) => [
        row.policy,
        fmtInt(row.endpoints),
        fixed(row.nsPerPick, 1),
        fixed(row.nsPerPickBest, 1),
        `${fixed(row.bestVsFewest, 2)}×`,
        fixed(row.nsPerCall, 1),
        fixed(row.rebuildMs, 3),
      ]);
      const header = [
        'policy',
        'endpoints',
        'ns/pick (median)',
        'ns/pick (best)',
        'best vs fewest',
        'ns/call',
        'rebuild ms',
      ];
      return `### ${name}: ${r.about} (${fmtInt(r.result.picksPerRun)} picks per run)\n\n${table(header, rows)}`;
    }
    case 'resolver': {
      const x = r.result;
      const rows = [
        [
          'first resolution (SRV + A per target, build, publish)',
          fixed(x.firstResolution.medianMs, 3),
          fixed(x.firstResolution.p95Ms, 3),
        ],
        [
          're-resolution, answer unchanged',
          fixed(x.unchangedReresolution.medianMs, 3),
          fixed(x.unchangedReresolution.p95Ms, 3),
        ],
        ['diff of equal sets', fixed(x.diffEqual.medianMs, 3), fixed(x.diffEqual.p95Ms, 3)],
        [
          'diff of sets differing in one weight',
          fixed(x.diffChanged.medianMs, 3),
          fixed(x.diffChanged.p95Ms, 3),
        ],
      ];
      const m = x.memory;
      return (
        `### ${name}: ${r.about} (${fmtInt(x.endpoints)} SRV targets)\n\n` +
        `${table(['operation', 'median ms', 'p95 ms'], rows, 1)}\n\n` +
        `Heap over ${fmtInt(m.polls)} re-resolutions (${fmtInt(m.updatesEmitted)} updates): ` +
        `${fmtInt(m.heapStartKb)} KiB -> ${fmtInt(m.heapEndKb)} KiB (${m.growthKb >= 0 ? '+' : ''}${fmtInt(m.growthKb)} KiB)`
      );
    }
    case 'hpack': {
      const rows = r.result.rows.map((row) => [
        row.block,
        fmtInt(row.fields),
        `${fmtInt(row.bytes)} (${fmtInt(row.firstBytes)})`,
        fixed(row.decodeNs, 1),
        fixed(row.decodeNsBest, 1),
        fixed(row.encodeNs, 1),
        fixed(row.encodeNsBest, 1),
        fixed(row.newConnectionNs / 1000, 1),
      ]);
      const header = [
        'block',
        'fields',
        'bytes (first)',
        'decode ns (median)',
        'decode ns (best)',
        'encode ns (median)',
        'encode ns (best)',
        'new pair + first block µs',
      ];
      return (
        `### ${name}: ${r.about} (${fmtInt(r.result.blocksPerRun)} blocks per run, CPU time)\n\n` +
        table(header, rows, 1)
      );
    }
    case 'h2-frames': {
      const x = r.result;
      const costRow = (what: string, c: H2FramesCost) => [
        what,
        fixed(c.nsPerCall, 1),
        fixed(c.nsPerCallBest, 1),
        fixed(c.nsPerFrame, 1),
      ];
      const cost = [
        costRow('parse (request + response)', x.parse),
        costRow('write (request + response)', x.write),
      ];
      const copy = x.copyOrReference.map((row) => [
        fmtInt(row.bytes),
        fixed(row.copyUs, 2),
        fixed(row.referenceUs, 2),
      ]);
      return (
        `### ${name}: ${r.about} (${fmtInt(x.callsPerRun)} calls per run, 5 frames per call, CPU time)\n\n` +
        `${table(['operation', 'ns/call (median)', 'ns/call (best)', 'ns/frame'], cost, 1)}\n\n` +
        'One turn (HEADERS + DATA + trailers) over loopback TCP, CPU µs with the DATA payload ' +
        'copied into the slab or written by reference (writev):\n\n' +
        table(['DATA octets', 'copy µs', 'reference µs'], copy, 1)
      );
    }
    case 'h2-connection': {
      const rows = r.result.rows.map((row) => [
        fmtInt(row.inFlight),
        fixed(row.cpuUsPerCall, 2),
        fixed(row.cpuUsPerCallBest, 2),
        fixed(row.wallUsPerCall, 2),
        fixed(row.writesPerCall, 2),
      ]);
      const header = [
        'calls in flight',
        'CPU µs/call (median)',
        'CPU µs/call (best)',
        'wall µs/call',
        'socket writes/call',
      ];
      return (
        `### ${name}: ${r.about} (${fmtInt(r.result.callsPerRun)} calls per run, CPU time of both endpoints)\n\n` +
        table(header, rows, 1)
      );
    }
    case 'config': {
      const rows = r.result.rows.map((row) => [
        `${fixed(row.bytes / 1e6, 1)} MB`,
        fmtInt(row.clusters),
        fmtInt(row.routes),
        fmtInt(row.ms),
        fmtInt(row.cpuMs),
        fixed(row.peakRssMb, 1),
      ]);
      const header = [
        'file',
        'clusters',
        'routes',
        'load ms',
        'loader CPU ms',
        'loader peak RSS MiB',
      ];
      return (
        `### ${name}: ${r.about}\n\nIn the loader process a reload starts, off the proxy's loop; ` +
        `its start (about 50 MiB and 0.2 s of CPU) is included.\n\n${table(header, rows, 1)}`
      );
    }
    case 'gateway': {
      const x = r.result;
      return (
        `### ${name}: ${r.about}\n\nMedians of ${x.runs} runs; load average ${fixed(x.loadAverage.before, 2)} before, ` +
        `${fixed(x.loadAverage.after, 2)} after.\n\n${gatewayTable(x)}`
      );
    }
    case 'observers': {
      const x = r.result;
      const rows = x.rows.map((row) => [row.observer, fixed(row.nsPerCall - x.loopNs, 1)]);
      return (
        `### ${name}: ${r.about} (callStarted + callEnded, ${fmtInt(x.calls)} calls per round, ` +
        `${fmtInt(x.loggedCalls)} with the access log on; fastest of ${x.rounds})\n\n` +
        `${table(['observer', 'ns/call'], rows, 1)}\n\n` +
        `The loop's own ${fixed(x.loopNs, 1)} ns per call is subtracted.`
      );
    }
    case 'error':
      return `### ${name}: ${r.about}\n\nERROR: ${r.error}`;
    default:
      return undefined;
  }
}

export function renderReport(doc: BenchDocument): string {
  const m = doc.meta;
  const pin = m.pinning
    ? `proxy pinned to CPU ${m.pinning.proxyCpu}, backend + h2load + benchmark to CPU ${m.pinning.loadCpu}`
    : 'no CPU pinning';
  const out = [
    `## switchyard bench, ${m.date}${doc.options.quick ? ' (--quick)' : ''}`,
    '',
    `- proxy: ${m.proxy.name} (\`${m.proxy.command}\`), fresh process per scenario; ${pin}`,
    `- node ${m.node}, ${m.cpus} x ${m.cpuModel}, ${m.platform} ${m.kernel}; ${m.h2load ?? 'h2load not used'}`,
    `- h2load runs: ${doc.options.warmupS} s warm-up, then ~${doc.options.durationS} s measured; latency from every request`,
  ];
  const load = Object.entries(doc.scenarios).filter(
    (e): e is [string, LoadScenarioResult] => e[1].kind === 'load',
  );
  if (load.length > 0)
    out.push(
      '',
      '### Calls through h2load (direct = straight to the backend)',
      '',
      loadTable(load, m.proxy.name),
    );
  for (const [name, r] of Object.entries(doc.scenarios)) {
    const text = section(name, r);
    if (text !== undefined) out.push('', text);
  }
  if (doc.problems.length > 0)
    out.push('', '### Problems', '', ...doc.problems.map((p) => `- ${p}`));
  return `${out.join('\n')}\n`;
}
