// The switchyard binary with real proxy variables: the quick start tunnels each endpoint
// through tinyproxy (no_proxy=* turns it off, a bad URL is reported), and a forward-proxy
// listener chains a plain grpc-js client through switchyard and tinyproxy to three backends.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startRouteGuideServer, type RouteGuideServer } from '../../examples/route-guide/server.js';
import {
  echoClient,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { eventually } from '../support/proxy-harness.js';
import { closedPort } from '../support/raw-upstream.js';
import { startSwitchyard } from '../support/switchyard-process.js';
import { startTinyproxy, type Tinyproxy } from '../support/tinyproxy.js';

const run = promisify(execFile);
const ROUTE_GUIDE_CLIENT = fileURLToPath(
  new URL('../../examples/route-guide/client.js', import.meta.url),
);

/** Every proxy variable unset (empty counts as unset), then `vars`. */
function proxyVars(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['grpc_proxy', 'https_proxy', 'http_proxy', 'no_proxy', 'no_grpc_proxy']) {
    env[name] = '';
    env[name.toUpperCase()] = '';
  }
  return { ...env, ...vars };
}

void describe('the quick start with proxy variables', () => {
  let tinyproxy: Tinyproxy;
  let backends: EchoBackend[];
  before(async () => {
    tinyproxy = await startTinyproxy();
    backends = await Promise.all(['a', 'b', 'c'].map((name) => startEchoBackend({ name })));
  });
  after(async () => {
    backends.forEach((b) => b.kill());
    await tinyproxy.stop();
  });

  async function quickStart(vars: Record<string, string>) {
    const port = await closedPort();
    const upstream = backends.map((b) => b.address).join(',');
    const running = await startSwitchyard(
      ['--listen', `127.0.0.1:${port}`, '--upstream', upstream],
      { env: proxyVars(vars) },
    );
    return { running, target: `127.0.0.1:${port}` };
  }

  async function servedBy(target: string, calls: number): Promise<Set<string>> {
    const client = echoClient(target);
    try {
      const names = new Set<string>();
      for (let i = 0; i < calls; i++) names.add((await echoUnaryOk(client, {})).backend);
      return names;
    } finally {
      client.close();
    }
  }

  void it('tunnels every endpoint through HTTP_PROXY', async (t) => {
    const before = tinyproxy.connects().length;
    const { running, target } = await quickStart({ HTTP_PROXY: tinyproxy.url() });
    t.after(() => running.stop());
    await eventually(async () => (await servedBy(target, 9)).size === 3, 5_000, 'all three');
    const connects = tinyproxy.connects().slice(before);
    for (const b of backends) assert.ok(connects.includes(b.address), connects.join(', '));
  });

  void it('connects directly with no_proxy=*, and reports an unusable proxy URL', async (t) => {
    const before = tinyproxy.connects().length;
    const { running, target } = await quickStart({ http_proxy: tinyproxy.url(), no_proxy: '*' });
    t.after(() => running.stop());
    assert.equal((await servedBy(target, 9)).size, 3);
    assert.deepEqual(tinyproxy.connects().slice(before), []);

    const bad = await quickStart({ grpc_proxy: 'socks5://127.0.0.1:1080' });
    t.after(() => bad.running.stop());
    assert.ok(
      bad.running.lines.some((l) =>
        /proxy environment: \\"socks5:\/\/127\.0\.0\.1:1080\\": only http:\/\/ and https:\/\//.test(
          l,
        ),
      ),
      bad.running.lines.join('\n'),
    );
    assert.equal((await servedBy(bad.target, 3)).size, 3, 'connects directly');
  });
});

void describe('forward-proxy mode from a config file', () => {
  let tinyproxy: Tinyproxy;
  let backends: RouteGuideServer[];
  let dir: string;
  before(async () => {
    tinyproxy = await startTinyproxy();
    backends = await Promise.all(['a', 'b', 'c'].map((name) => startRouteGuideServer({ name })));
    dir = await mkdtemp(join(tmpdir(), 'switchyard-forward-'));
  });
  after(async () => {
    backends.forEach((b) => b.kill());
    await tinyproxy.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void it('chains grpc-js → switchyard (http_proxy) → tinyproxy (HTTPS_PROXY) → three backends', async (t) => {
    const port = await closedPort();
    const file = join(dir, 'forward.yaml');
    await writeFile(
      file,
      `listeners:
  - address: 127.0.0.1:${port}
    connect: {}
clusters:
  route_guide:
    target: ${backends.map((b) => b.address).join(',')}
`,
    );
    const running = await startSwitchyard(['--config', file], {
      env: proxyVars({ HTTPS_PROXY: tinyproxy.url() }),
    });
    t.after(() => running.stop());
    const { stdout } = await run(
      process.execPath,
      [ROUTE_GUIDE_CLIENT, '--target', 'route_guide:50051', '--calls', '120'],
      { env: { ...process.env, ...proxyVars({ http_proxy: `http://127.0.0.1:${port}` }) } },
    );
    assert.match(stdout, /^total\s+120\s+100\.0%\s+120\s+0\s/m);
    for (const b of backends) {
      const row = new RegExp(`^${b.name}\\s+(\\d+)\\s`, 'm').exec(stdout);
      assert.ok(row && Number(row[1]) >= 30, `${b.name} served its share:\n${stdout}`);
    }
    const connects = tinyproxy.connects();
    for (const b of backends) assert.ok(connects.includes(b.address), connects.join(', '));
  });
});
