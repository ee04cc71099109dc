// Finds h2load (Debian's nghttp2-client), installing it with apt-get when running as root,
// or explains what to install.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

/** The benchmark cannot run here as asked; run.ts prints the message and exits 2. */
export class BenchSetupError extends Error {
  override readonly name = 'BenchSetupError';
  readonly code = 'ERR_BENCH_SETUP';
}

const PACKAGE = 'nghttp2-client';
const POLICY_RC = '/usr/sbin/policy-rc.d';

/** The h2load version line, or undefined when h2load is not on PATH. */
export function h2loadVersion(): string | undefined {
  try {
    const out = execFileSync('h2load', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function hasAptGet(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns h2load's version; installs nghttp2-client first when h2load is missing and this runs
 * as root on a Debian-like system. Otherwise throws BenchSetupError naming the package.
 */
export function ensureH2load(log: (line: string) => void): string {
  const found = h2loadVersion();
  if (found !== undefined) return found;
  if (!isRoot() || !hasAptGet()) {
    throw new BenchSetupError(
      `h2load is not installed. It comes with Debian/Ubuntu's ${PACKAGE} package:\n` +
        `  sudo apt-get install -y ${PACKAGE}\n` +
        `(other systems: install nghttp2's h2load), then run the benchmark again.`,
    );
  }
  log(`h2load not found: installing ${PACKAGE} with apt-get`);
  // policy-rc.d exiting 101 keeps package scripts from starting services, as in containers.
  const madeGuard = !existsSync(POLICY_RC);
  if (madeGuard) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const stdio = ['ignore', process.stderr, process.stderr] as const;
    execFileSync('apt-get', ['update', '-q'], { env, stdio: [...stdio] });
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', PACKAGE], {
      env,
      stdio: [...stdio],
    });
  } catch (err) {
    throw new BenchSetupError(`installing ${PACKAGE} failed: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    if (madeGuard) rmSync(POLICY_RC, { force: true });
  }
  const installed = h2loadVersion();
  if (installed === undefined) {
    throw new BenchSetupError(`${PACKAGE} was installed but h2load is still not on PATH`);
  }
  return installed;
}
