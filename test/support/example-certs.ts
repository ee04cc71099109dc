// The examples' development certificates (examples/certs/, git ignored), made by the same
// script as `npm run example-certs` when a test needs them and they are missing or old.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Compiled to dist/test/support: the repository root is three folders up.
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
export const EXAMPLE_CERTS_DIR = join(EXAMPLES_DIR, 'certs');

/** Runs scripts/example-certs.mjs (a no-op when the files are there and current). */
export async function ensureExampleCerts(): Promise<string> {
  await run(process.execPath, [join(REPO_ROOT, 'scripts', 'example-certs.mjs')], {
    timeout: 60_000,
  });
  return EXAMPLE_CERTS_DIR;
}

/** The path of one of them: `exampleCert('client.pem')`. */
export function exampleCert(file: string): string {
  return join(EXAMPLE_CERTS_DIR, file);
}
