// The switchyard binary end to end: validate (good, bad, TLS files), --help, --version, bad
// flags, and --config and the quick start serving calls to a real grpc-js backend.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { fetch } from 'undici';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { LIBRARY_DIR, LIBRARY_PROTO, startLibraryBackend } from '../support/library-backend.js';
import { spawnProxy } from '../support/spawn-proxy.js';
import { runSwitchyard, startSwitchyard } from '../support/switchyard-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function configFile(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

void describe('switchyard validate', () => {
  void it('prints what a valid file would run and exits 0', async () => {
    const file = await configFile(
      'good.yaml',
      `listeners: [{ address: "127.0.0.1:8080" }]
clusters:
  users: { target: dns+srv:///_grpc._tcp.users.internal, balancer: least_loaded, healthCheck: {} }
`,
    );
    const result = await runSwitchyard(['validate', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.equal(
      result.stdout,
      `${file}: valid
listeners:
  main  127.0.0.1:8080  h2c
routes (first match wins):
  default  every call  → users
clusters:
  users  dns+srv:///_grpc._tcp.users.internal
         balancer least_loaded
         health checks every 5s (timeout 1s, service "", down after 3, up after 1)
         outlier detection off
         h2c
admin: off
workers: 1, log: info (auto), access log: off, shutdown grace: 10s
`,
    );
  });

  void it('prints every problem as FILE:LINE:COL key.path: message and exits 2', async () => {
    const missing = await runSwitchyard(['validate', 'bad.yaml'], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.equal(missing.stderr, 'bad.yaml: cannot read the config file: ENOENT\n');

    await configFile(
      'bad.yaml',
      `listeners:
  - address: 0.0.0.0:8080
    idleTimeout: 1 hour
clusters:
  users:
    target: a:1
    balancer: least_laoded
shutdownGrace: \${SWITCHYARD_TEST_UNSET}
`,
    );
    const bad = await runSwitchyard(['validate', 'bad.yaml'], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.equal(
      bad.stderr,
      [
        'bad.yaml:3:18 listeners[0].idleTimeout: "1 hour" is not a duration (write e.g. "250ms", "5s", "1m30s" or "1h")',
        'bad.yaml:7:15 clusters.users.balancer: unknown balancing policy "least_laoded" (did you mean "least_loaded"?); known: round_robin, least_loaded, weighted_round_robin, ring_hash',
        'bad.yaml:8:16 shutdownGrace: environment variable SWITCHYARD_TEST_UNSET is not set (write ${SWITCHYARD_TEST_UNSET:-default} for a fallback)',
        '',
      ].join('\n'),
    );
  });

  void it('checks the certificate files of examples/tls.yaml', async () => {
    const example = join(ROOT, 'examples', 'tls.yaml');
    const missing = await runSwitchyard(['validate', example], { env: { TLS_DIR: dir } });
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /tls\.yaml:\d+:\d+ listeners\[0\]\.tls\.cert: cannot read .*server\.pem: ENOENT/,
    );
    for (const name of [
      'server.pem',
      'server.key',
      'ca.pem',
      'proxy-client.pem',
      'proxy-client.key',
    ]) {
      await writeFile(join(dir, name), 'PEM');
    }
    const found = await runSwitchyard(['validate', example], {
      env: { TLS_DIR: dir, PROXY_PASSWORD: 'hunter2' },
    });
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /mtls +0\.0\.0\.0:8443 +TLS, client certificate required/);
    assert.match(found.stdout, /via http:\/\/switchyard:\[redacted\]@proxy\.corp:3128/);
    assert.doesNotMatch(found.stdout, /hunter2/);
  });
});

void describe('switchyard flags', () => {
  void it('--help prints the usage and exits 0', async () => {
    const result = await runSwitchyard(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage:\n {2}switchyard --config FILE/);
    assert.match(result.stdout, /switchyard validate FILE/);
    assert.match(result.stdout, /Exit codes: 0/);
  });

  void it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await runSwitchyard(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `switchyard ${pkg.version}\n`);
  });

  void it('bad flags and arguments exit 2 with the reason and the usage', async () => {
    for (const [args, reason] of [
      [['--bogus'], "switchyard: Unknown option '--bogus'"],
      [[], 'switchyard: nothing to run'],
      [
        ['--config', 'x.yaml', '--upstream', 'a:1'],
        'switchyard: --config and --upstream exclude each other',
      ],
      [['valdiate', 'x.yaml'], 'switchyard: unknown command "valdiate" (did you mean "validate"?)'],
      [
        ['--listen', ':0', '--upstream', 'a:1', '--balancer', 'fastest'],
        'switchyard: --balancer: unknown balancing policy "fastest"',
      ],
      [
        ['--listen', ':0', '--upstream', 'mdns:///x'],
        'switchyard: --upstream: invalid target "mdns:///x"',
      ],
      [
        ['--listen', 'nowhere', '--upstream', 'a:1'],
        'switchyard: --listen: "nowhere" is not an address',
      ],
      [
        ['--listen', ':0', '--upstream', 'a:1', '--gateway', '--cors', 'localhost:5173'],
        'switchyard: --cors: "localhost:5173" is not an origin',
      ],
      [
        ['--config', 'x.yaml', '--log-level', 'loud'],
        'switchyard: --log-level: unknown level "loud"',
      ],
    ] as const) {
      const result = await runSwitchyard(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.ok(result.stderr.startsWith(reason), `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /\nUsage:\n/);
      assert.equal(result.stdout, '');
    }
  });

  void it('--config with an invalid file exits 2 before opening any socket', async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as net.AddressInfo).port;
    // The port is taken: a proxy that tried to listen would fail with exit 1, not 2.
    const file = await configFile(
      'invalid.yaml',
      `listeners: [{ address: "127.0.0.1:${port}" }]\nclusters: { c: { target: a:1, balancer: nope } }\n`,
    );
    const result = await runSwitchyard(['--config', file]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /invalid\.yaml:2:41 clusters\.c\.balancer: unknown balancing policy "nope"/,
    );
    assert.doesNotMatch(result.stderr, /listen/);
  });

  void it('a listener that cannot bind is a runtime failure: exit 1', async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as net.AddressInfo).port;
    const file = await configFile(
      'busy.yaml',
      `listeners: [{ address: "127.0.0.1:${port}" }]\nclusters: { c: { target: a:1 } }\nlog: { format: json }\n`,
    );
    const result = await runSwitchyard(['--config', file]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /"level":60.*cannot listen on 127\.0\.0\.1:\d+.*EADDRINUSE/);
  });
});

void describe('serving calls', () => {
  let backend: EchoBackend;
  before(async () => {
    backend = await startEchoBackend({ name: 'echo-1' });
  });
  after(() => backend.close());

  void it('--config runs the file: one call through to a grpc-js backend, SIGTERM exits 0', async (t) => {
    // log.level error would hide the "listening" line: --log-level overrides it.
    const file = await configFile(
      'serve.yaml',
      `# A small config served end to end.
listeners:
  - name: front
    address: 127.0.0.1:0
routes:
  - match: { service: test.Echo }
    cluster: echo
clusters:
  echo:
    target: \${BACKEND}
    timeouts: { default: 10s }
log: { level: error, format: json }
`,
    );
    const proxy = await startSwitchyard(['--config', file, '--log-level', 'info'], {
      env: { BACKEND: backend.address },
    });
    t.after(() => proxy.stop('SIGKILL'));
    const address = proxy.addresses.get('front');
    assert.ok(address, proxy.lines.join('\n'));
    const client = echoClient(address);
    t.after(() => client.close());
    const response = await echoUnaryOk(
      client,
      { payload: Buffer.from('hello') },
      { deadlineMs: 5_000 },
    );
    assert.equal(response.backend, 'echo-1');
    assert.equal(response.payload.toString(), 'hello');
    client.close();
    assert.equal(await proxy.stop('SIGTERM'), 0);
  });

  void it('the flag-only quick start still serves calls', async (t) => {
    const proxy = await spawnProxy(['--upstream', backend.address, '--balancer', 'least_loaded']);
    t.after(() => proxy.stop('SIGKILL'));
    const client = echoClient(proxy.target);
    t.after(() => client.close());
    const response = await echoUnaryOk(client, {}, { deadlineMs: 5_000 });
    assert.equal(response.backend, 'echo-1');
    client.close();
    assert.equal(await proxy.stop('SIGINT'), 0);
  });

  void it('--gateway --cors lets pages from that origin call, and refuses another', async (t) => {
    const library = await startLibraryBackend();
    t.after(() => library.close());
    const origin = 'http://localhost:5173';
    const proxy = await spawnProxy([
      '--upstream',
      library.address,
      '--gateway',
      '--proto',
      LIBRARY_PROTO,
      '--proto-path',
      LIBRARY_DIR,
      '--cors',
      origin,
    ]);
    t.after(() => proxy.stop('SIGKILL'));
    const base = `http://${proxy.target}`;
    const preflight = (from: string) =>
      fetch(`${base}/v1/shelves/s1/books/b1`, {
        method: 'OPTIONS',
        headers: { origin: from, 'access-control-request-method': 'GET' },
      });
    const allowed = await preflight(origin);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), origin);
    const other = await preflight('https://elsewhere.example');
    assert.equal(other.status, 403);
    // The call itself carries the header too, so the page can read the answer.
    const call = await fetch(`${base}/v1/shelves/s1/books/b1`, { headers: { origin } });
    assert.equal(call.status, 200);
    assert.equal(call.headers.get('access-control-allow-origin'), origin);
    assert.equal(await proxy.stop('SIGTERM'), 0);
  });
});
