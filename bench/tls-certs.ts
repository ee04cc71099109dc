// Throwaway TLS material for the TLS benchmark: a CA and a server certificate signed by it for
// 127.0.0.1 and localhost, made with the openssl CLI into a directory the benchmark removes
// afterwards. ECDSA P-256 by default; RSA-2048, still the most common server certificate, with
// --rsa, because the server signs with its key in every full handshake and an RSA signature
// costs far more CPU than an ECDSA one.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type KeyKind = 'ecdsa-p256' | 'rsa-2048';

export interface BenchCerts {
  readonly kind: KeyKind;
  /** The CA certificate clients verify the server with. */
  readonly ca: string;
  /** The server's certificate (PEM) and private key (PEM, PKCS#8). */
  readonly cert: string;
  readonly key: string;
  /** Certificate and key in one file, as HAProxy's `crt` wants them. */
  readonly combined: string;
}

const KEY_ARGS: Record<KeyKind, string[]> = {
  'ecdsa-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
  'rsa-2048': ['-newkey', 'rsa:2048', '-nodes'],
};

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? 'openssl is not installed' : (e.stderr ?? '').trim();
    throw new Error(`openssl ${args[0]} failed: ${why}`, { cause: error });
  }
}

/** Makes ca.pem, server.pem, server.key and server-combined.pem in `dir` (which must exist). */
export async function makeBenchCerts(dir: string, kind: KeyKind): Promise<BenchCerts> {
  // Two days: the material lives only as long as one benchmark run.
  const days = '2';
  await openssl(dir, [
    'req',
    '-x509',
    ...KEY_ARGS[kind],
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    days,
    '-subj',
    '/O=switchyard bench/CN=switchyard bench CA (throwaway)',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  await openssl(dir, [
    'req',
    ...KEY_ARGS[kind],
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/O=switchyard bench/CN=127.0.0.1',
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    // A serial given, so openssl leaves no serial file behind.
    '-set_serial',
    `0x${Date.now().toString(16)}`,
    '-days',
    days,
    '-extfile',
    'server.ext',
    '-out',
    'server.pem',
  ]);
  const combined = join(dir, 'server-combined.pem');
  writeFileSync(
    combined,
    readFileSync(join(dir, 'server.pem'), 'utf8') + readFileSync(join(dir, 'server.key'), 'utf8'),
  );
  return {
    kind,
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server.key'),
    combined,
  };
}
