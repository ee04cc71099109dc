// Throwaway TLS material for tests: a self-signed CA plus server and client certificates made
// with the openssl CLI in a fresh temp dir, so no key or certificate is ever committed.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServerTlsConfig } from '../../config/types.js';

const run = promisify(execFile);

export interface TestCerts {
  /** The temp dir holding every file below. */
  dir: string;
  caCertPath: string;
  caKeyPath: string;
  /** Server certificate: SAN DNS:localhost, IP:127.0.0.1, IP:::1 (plus `extraNames`). */
  serverCertPath: string;
  serverKeyPath: string;
  /** Client certificate (CN `switchyard-test-client`, clientAuth) for mutual TLS. */
  clientCertPath: string;
  clientKeyPath: string;
  /** PEM contents of the files above. */
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** Removes the temp dir; safe to call more than once. */
  cleanup(): Promise<void>;
}

export interface TestCertsOptions {
  /** More DNS names for the server certificate (e.g. `backend.test`). */
  extraNames?: string[];
  /** Validity in days; default 2. */
  days?: number;
}

// P-256 keys: generating them takes milliseconds, RSA-2048 takes up to a second.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim()}`, { cause: error });
  }
}

/** A self-signed CA in `dir`: `<file>.pem` and `<file>.key`. */
async function createCa(dir: string, file: string, cn: string, days: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    ...KEY_ARGS,
    '-keyout',
    join(dir, `${file}.key`),
    '-out',
    join(dir, `${file}.pem`),
    '-days',
    days,
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** Creates a CA, a server certificate and a client certificate signed by it. */
export async function createTestCerts(options: TestCertsOptions = {}): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-certs-'));
  const days = String(options.days ?? 2);
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const path = (name: string): string => join(dir, name);
    await createCa(dir, 'ca', 'switchyard test CA', days);
    const names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];
    for (const name of options.extraNames ?? []) names.push(`DNS:${name}`);
    await writeFile(
      path('server.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${names.join(',')}`,
      ].join('\n') + '\n',
    );
    await writeFile(
      path('client.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=clientAuth',
      ].join('\n') + '\n',
    );
    for (const [role, cn] of [
      ['server', 'localhost'],
      ['client', 'switchyard-test-client'],
    ] as const) {
      await openssl(dir, [
        'req',
        ...KEY_ARGS,
        '-keyout',
        path(`${role}.key`),
        '-out',
        path(`${role}.csr`),
        '-subj',
        `/CN=${cn}`,
      ]);
      await openssl(dir, [
        'x509',
        '-req',
        '-in',
        path(`${role}.csr`),
        '-CA',
        path('ca.pem'),
        '-CAkey',
        path('ca.key'),
        // A random serial per certificate, so no serial file is left behind.
        '-set_serial',
        `0x${Math.floor(Math.random() * 0xffffffff).toString(16)}01`,
        '-days',
        days,
        '-extfile',
        path(`${role}.ext`),
        '-out',
        path(`${role}.pem`),
      ]);
    }
    const [ca, serverCert, serverKey, clientCert, clientKey] = await Promise.all([
      readFile(path('ca.pem')),
      readFile(path('server.pem')),
      readFile(path('server.key')),
      readFile(path('client.pem')),
      readFile(path('client.key')),
    ]);
    return {
      dir,
      caCertPath: path('ca.pem'),
      caKeyPath: path('ca.key'),
      serverCertPath: path('server.pem'),
      serverKeyPath: path('server.key'),
      clientCertPath: path('client.pem'),
      clientKeyPath: path('client.key'),
      ca,
      serverCert,
      serverKey,
      clientCert,
      clientKey,
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** A client certificate (with the client key of the certs it was made for). */
export interface ClientCert {
  certPath: string;
  cert: Buffer;
}

/**
 * Client certificates a backend that trusts `certs.ca` must refuse: one that expired (its
 * validity ends a day before it starts, which OpenSSL reports as expired), and one issued by
 * another CA (CN "switchyard test other CA"). Both use `certs.clientKeyPath`.
 */
export async function createRefusedClientCerts(
  certs: TestCerts,
): Promise<{ expired: ClientCert; untrusted: ClientCert }> {
  const dir = certs.dir;
  const path = (name: string): string => join(dir, name);
  await createCa(dir, 'other-ca', 'switchyard test other CA', '2');
  await openssl(dir, [
    'req',
    '-new',
    '-key',
    certs.clientKeyPath,
    '-out',
    path('refused.csr'),
    '-subj',
    '/CN=switchyard-test-client',
  ]);
  const sign = async (out: string, ca: string, caKey: string, days: string): Promise<void> => {
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      path('refused.csr'),
      '-CA',
      ca,
      '-CAkey',
      caKey,
      '-set_serial',
      `0x${Math.floor(Math.random() * 0xffffffff).toString(16)}02`,
      '-days',
      days,
      '-extfile',
      path('client.ext'),
      '-out',
      path(out),
    ]);
  };
  await sign('expired-client.pem', certs.caCertPath, certs.caKeyPath, '-1');
  await sign('untrusted-client.pem', path('other-ca.pem'), path('other-ca.key'), '2');
  return {
    expired: {
      certPath: path('expired-client.pem'),
      cert: await readFile(path('expired-client.pem')),
    },
    untrusted: {
      certPath: path('untrusted-client.pem'),
      cert: await readFile(path('untrusted-client.pem')),
    },
  };
}

/** A listener's TLS settings with these certificates and the test CA for client certificates. */
export function mutualTls(certs: TestCerts, extra: Partial<ServerTlsConfig> = {}): ServerTlsConfig {
  return {
    certFile: certs.serverCertPath,
    keyFile: certs.serverKeyPath,
    caFile: certs.caCertPath,
    requireClientCert: true,
    minVersion: 'TLSv1.2',
    ciphers: undefined,
    watch: false,
    expiryWarningDays: 14,
    ...extra,
  };
}
