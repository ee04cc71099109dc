// Resolvers never keep a finished program alive: unref'd timers, unref'd sockets to Consul.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { it } from 'node:test';
import { ConsulDouble } from '../support/consul-double.js';
import { Dnsmasq } from '../support/dnsmasq.js';

// Compiled, this file runs from dist/test/resolver; the resolver is at dist/resolver.
const createResolverUrl = pathToFileURL(
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'resolver', 'create-resolver.js'),
).href;

/** Runs a program that subscribes, prints the first update, and then just ends. */
function runUnclosed(
  target: string,
  options: object,
): Promise<{ ms: number; out: string; code: number | null }> {
  const program = `
    const { createResolver } = await import(${JSON.stringify(createResolverUrl)});
    const resolver = createResolver(${JSON.stringify(target)}, ${JSON.stringify(options)});
    resolver.subscribe({
      onUpdate: (set) => console.log(set.endpoints.map((e) => e.key).join(',')),
      onError: (e) => console.error(e.message),
      onNotFound: (e) => console.error(e.message),
    });
  `;
  const started = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the program did not exit within 5 s (printed: ${out.trim()})`));
    }, 5_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, out: out.trim(), code });
    });
  });
}

void it('a program with an open consul resolver (blocking query held) exits on its own', async (t) => {
  const consul = await ConsulDouble.start();
  t.after(() => consul.close());
  consul.register({ id: 'a', service: 'users', address: '10.0.0.1', port: 1 });
  // The program ends only after its first answer, so the blocking query is in flight by then.
  const { out, code } = await runUnclosed(`consul://${consul.address}/users`, {
    consul: { waitMs: 60_000, minIntervalMs: 0 },
    env: {},
  });
  assert.equal(out, '10.0.0.1:1');
  assert.equal(code, 0);
  assert.ok(
    consul.requests.some((r) => r.index !== undefined),
    'the blocking query had been sent when the program ended',
  );
});

void it('a program with an open dns resolver (refresh timer armed) exits on its own', async (t) => {
  const dns = new Dnsmasq({ hosts: ['127.0.0.2 svc.test'], localTtl: 60 });
  t.after(() => dns.close());
  await dns.start();
  const { out, code } = await runUnclosed(`dns://${dns.server}/svc.test:1`, {});
  assert.equal(out, '127.0.0.2:1');
  assert.equal(code, 0);
});
