// `npm run demo`: three route_guide backends, the switchyard binary in front of them, and the
// route_guide client running all four call kinds through it — first round-robin, then
// least_loaded with one backend made slow. Prints who served what, then cleans up.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { runRouteGuideClient, summarize, formatSummary } from './route-guide/client.js';
import { startRouteGuideServer, type RouteGuideServer } from './route-guide/server.js';

const BIN = fileURLToPath(new URL('../bin/switchyard.js', import.meta.url));
const CALLS = 400;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the binary and resolves once it logs that it listens. */
function startProxy(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (log.includes('"listening"')) {
        child.stderr.off('data', onData);
        child.stderr.resume();
        resolve(child);
      }
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`switchyard exited with ${code}:\n${log}`)));
  });
}

function stopProxy(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function round(
  title: string,
  listen: string,
  upstream: string,
  balancer: string,
): Promise<void> {
  const command = `switchyard --listen ${listen} --upstream ${upstream} --balancer ${balancer}`;
  console.log(`\n== ${title}\n   $ ${command}`);
  const proxy = await startProxy([
    '--listen',
    listen,
    '--upstream',
    upstream,
    '--balancer',
    balancer,
  ]);
  children.add(proxy);
  try {
    const records = await runRouteGuideClient(listen, { calls: CALLS, concurrency: 8 });
    console.log(
      `   route_guide client: ${CALLS} calls (unary, server-, client- and bidi-streaming)\n`,
    );
    console.log(formatSummary(summarize(records)).replace(/^/gm, '   '));
  } finally {
    await stopProxy(proxy);
    children.delete(proxy);
  }
}

const servers: RouteGuideServer[] = [];
const children = new Set<ChildProcess>();

async function cleanup(): Promise<void> {
  await Promise.all([...children].map(stopProxy));
  await Promise.all(servers.map((s) => s.close()));
}

process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

async function main(): Promise<void> {
  for (const name of ['backend-a', 'backend-b', 'backend-c']) {
    servers.push(await startRouteGuideServer({ name }));
  }
  console.log('switchyard demo: three route_guide backends');
  for (const s of servers) console.log(`   ${s.name} on ${s.address}`);
  const upstream = servers.map((s) => s.address).join(',');

  await round(
    'round_robin: every call is balanced, not every connection',
    `127.0.0.1:${await freePort()}`,
    upstream,
    'round_robin',
  );

  servers[2].setDelay(25);
  await round(
    `least_loaded: ${servers[2].name} now answers 25 ms slower and gets fewer calls`,
    `127.0.0.1:${await freePort()}`,
    upstream,
    'least_loaded',
  );
  console.log(
    '\nOne client channel, one HTTP/2 connection to the proxy: the proxy picks a backend per call.',
  );
}

main()
  .catch((err: unknown) => {
    console.error(`demo failed: ${(err as Error).message}`);
    process.exitCode = 1;
  })
  .finally(() => void cleanup());
