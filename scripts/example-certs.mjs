// Development TLS material for the configs in examples/: a CA and, signed by it, every
// certificate and key the examples name, made with the openssl CLI into examples/certs/ (git
// ignored), which the examples use by default. `npm run example-certs`; --force makes new ones,
// --out DIR writes elsewhere. Never for production: the CA key sits next to the certificates.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_DIR = join(ROOT, 'examples', 'certs');

/** A year: long enough for a development setup, short enough to be replaced. */
const DAYS = 365;
/** Certificates that expire within this many days are made again. */
const RENEW_DAYS = 30;

// P-256 keys: generating them takes milliseconds, RSA-2048 up to a second each.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

const SERVER_USAGE = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
];
const CLIENT_USAGE = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=clientAuth',
];
const LOCAL = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];

/**
 * Every certificate the examples use, by file name (`NAME.pem` and `NAME.key`). Client
 * certificates carry the identity kinds a listener reports (DNS, URI/SPIFFE, email, subject).
 */
export const EXAMPLE_CERTS = [
  // The listeners' certificate (examples/tls.yaml `mtls`, the admin listener over TLS).
  {
    name: 'server',
    subject: '/O=switchyard examples/CN=localhost',
    usage: SERVER_USAGE,
    san: LOCAL,
  },
  // A client of an mTLS listener (grpc-js, curl to the admin listener).
  {
    name: 'client',
    subject: '/O=switchyard examples/CN=example-client',
    usage: CLIENT_USAGE,
    san: [
      'DNS:client.example.test',
      'URI:spiffe://example.test/ns/default/sa/example-client',
      'email:client@example.test',
    ],
  },
  // What the proxy presents to backends that want a client certificate (clusters' tls.cert).
  {
    name: 'proxy-client',
    subject: '/O=switchyard examples/CN=switchyard',
    usage: CLIENT_USAGE,
    san: ['URI:spiffe://example.test/ns/default/sa/switchyard'],
  },
  // A backend's certificate, for the names the examples' clusters use.
  {
    name: 'backend',
    subject: '/O=switchyard examples/CN=payments.internal',
    usage: SERVER_USAGE,
    san: ['DNS:payments.internal', 'DNS:users.internal', 'DNS:route-guide.internal', ...LOCAL],
  },
  // TLS inside CONNECT tunnels (examples/forward-proxy.yaml `connect.tls`): the names clients
  // CONNECT to.
  {
    name: 'tunnel',
    subject: '/O=switchyard examples/CN=users.internal',
    usage: SERVER_USAGE,
    san: ['DNS:users.internal', 'DNS:users-legacy', 'DNS:route_guide', ...LOCAL],
  },
];

/** Every file the directory holds when complete. */
export function exampleCertFiles() {
  return ['ca.pem', ...EXAMPLE_CERTS.flatMap((c) => [`${c.name}.pem`, `${c.name}.key`])];
}

async function openssl(cwd, args) {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (error) {
    const why = error.code === 'ENOENT' ? 'openssl is not installed' : (error.stderr ?? '').trim();
    throw new Error(`openssl ${args[0]} failed: ${why}`, { cause: error });
  }
}

/** Whether `dir` holds every file, and no certificate runs out within RENEW_DAYS. */
export function complete(dir) {
  const renewBy = Date.now() + RENEW_DAYS * 86_400_000;
  for (const file of exampleCertFiles()) {
    const path = join(dir, file);
    if (!existsSync(path)) return false;
    if (!file.endsWith('.pem')) continue;
    try {
      if (Date.parse(new X509Certificate(readFileSync(path)).validTo) < renewBy) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function generate(dir) {
  await openssl(dir, [
    'req',
    '-x509',
    ...KEY_ARGS,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    String(DAYS + 1),
    '-subj',
    '/O=switchyard examples/CN=switchyard example CA (development only)',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 1;
  for (const cert of EXAMPLE_CERTS) {
    const ext = `${cert.name}.ext`;
    await writeFile(
      join(dir, ext),
      [...cert.usage, `subjectAltName=${cert.san.join(',')}`].join('\n') + '\n',
    );
    await openssl(dir, [
      'req',
      ...KEY_ARGS,
      '-keyout',
      `${cert.name}.key`,
      '-out',
      `${cert.name}.csr`,
      '-subj',
      cert.subject,
    ]);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${cert.name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      // Serial numbers given, so openssl leaves no serial file behind.
      '-set_serial',
      `0x${Date.now().toString(16)}${String(serial++).padStart(2, '0')}`,
      '-days',
      String(DAYS),
      '-extfile',
      ext,
      '-out',
      `${cert.name}.pem`,
    ]);
    await rm(join(dir, ext));
    await rm(join(dir, `${cert.name}.csr`));
  }
}

/**
 * Makes the material in `dir` unless it is there and current (or `force`). It is made in a
 * sibling folder and renamed into place, so a reader (two test files starting at once) never
 * sees half of it. Resolves with whether anything was made.
 */
export async function ensureExampleCerts(dir = DEFAULT_DIR, { force = false } = {}) {
  if (!force && complete(dir)) return false;
  const parent = resolve(dir, '..');
  const work = await mkdtemp(join(parent, '.certs-'));
  try {
    await generate(work);
    if (!force && complete(dir)) return false; // made meanwhile by another process
    const old = `${work}-old`;
    await rename(dir, old).catch(() => undefined);
    await rename(work, dir);
    await rm(old, { recursive: true, force: true });
    return true;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { force: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const dir = values.out === undefined ? DEFAULT_DIR : resolve(values.out);
  try {
    const made = await ensureExampleCerts(dir, { force: values.force });
    console.log(
      made
        ? `example certificates written to ${dir} (CA: ca.pem; development only)`
        : `example certificates in ${dir} are current (--force makes new ones)`,
    );
  } catch (err) {
    console.error(`example-certs: ${err.message}`);
    process.exitCode = 1;
  }
}
