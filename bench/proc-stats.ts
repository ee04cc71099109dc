// CPU time and resident memory of a process tree, read from /proc (Linux), and a sampler that
// keeps the peak resident memory while a scenario runs.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (100 on every common Linux). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  /** utime + stime + cutime + cstime: the process's CPU plus that of children it reaped. */
  readonly ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses; fields resume after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    state: f[0],
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
  };
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const st = readStat(Number(name));
    if (st !== undefined) out.push(st);
  }
  return out;
}

/** The live (non-zombie) processes of `root`'s tree: root and all its descendants. */
export function processTree(root: number): number[] {
  const stats = allStats();
  const children = new Map<number, number[]>();
  let rootAlive = false;
  for (const st of stats) {
    if (st.pid === root) rootAlive = st.state !== 'Z';
    const list = children.get(st.ppid);
    if (list) list.push(st.pid);
    else children.set(st.ppid, [st.pid]);
  }
  if (!rootAlive) return [];
  const zombie = new Set(stats.filter((s) => s.state === 'Z').map((s) => s.pid));
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (!zombie.has(pid)) out.push(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return out;
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return allStats()
    .filter((s) => s.pgrp === pgid && s.state !== 'Z')
    .map((s) => s.pid);
}

/** CPU seconds used so far by `root`'s tree (live members, plus children they reaped). */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / CLOCK_TICKS;
}

/** CPU seconds used so far by one process, or undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  const st = readStat(pid);
  return st === undefined ? undefined : st.ticks / CLOCK_TICKS;
}

function statusKb(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of `root`'s tree now, in bytes (sum of VmRSS). */
export function treeRssBytes(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) kb += statusKb(pid, 'VmRSS');
  return kb * 1024;
}

/** The kernel's own high-water mark of one process's resident memory (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number {
  return statusKb(pid, 'VmHWM') * 1024;
}

/** Busy and total ticks of all CPUs together, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // user nice system idle iowait irq softirq steal
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - v[4], total };
}

/**
 * Samples the resident memory of a process tree every `intervalMs` (100 ms by default) and
 * keeps the peak. The timer is unref'd; call stop() to read the result and end sampling.
 */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = treeRssBytes(this.root);
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  /** The peak seen so far, in bytes. */
  get peakBytes(): number {
    return this.peak;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
