// The Observability facade's life cycle: the admin listener opens, moves and closes with the
// config (even from the POST /reload it answers), a taken port fails start, close is final.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { Config } from '../../config/types.js';
import { silentLogger } from '../../common/log.js';
import { Observability } from '../../observability/observability.js';
import { startTestProxy } from '../support/proxy-harness.js';
import { adminRequest, baseUrl, startObservedProxy } from './observed-proxy.js';

/** Whether anything accepts connections at `url`. */
async function answers(url: string): Promise<boolean> {
  try {
    return (await adminRequest(url, '/live')).status === 200;
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    return false;
  }
}

/** A port free on 127.0.0.1 and 127.0.0.2 a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('Observability', () => {
  it('opens, moves and closes the admin listener on reconfigure', async (t) => {
    const tp = await startTestProxy({ upstream: 'static:///127.0.0.1:1' });
    const obs = await Observability.start(tp.proxy.config, tp.proxy, {
      logger: silentLogger(),
      version: 't',
    });
    t.after(async () => {
      await tp.close();
      await obs.close();
    });
    const base: Config = tp.proxy.config;
    // Read through a function: an assertion would narrow the getter's type for good.
    const address = () => obs.adminAddress;
    assert.equal(base.admin, undefined);
    assert.equal(address(), undefined);

    const first: Config = { ...base, admin: { address: { host: '127.0.0.1', port: 0 } } };
    await obs.reconfigure(first);
    const a = address()!;
    assert.equal(a.host, '127.0.0.1');
    assert.ok(await answers(baseUrl(a)));

    // The same config again changes nothing (port 0 does not mean "a new port").
    await obs.reconfigure({ ...first });
    assert.equal(address(), a);

    await obs.reconfigure({ ...base, admin: { address: { host: '127.0.0.2', port: 0 } } });
    const b = address()!;
    assert.equal(b.host, '127.0.0.2');
    assert.ok(await answers(baseUrl(b)));
    assert.equal(await answers(baseUrl(a)), false);

    await obs.reconfigure(base);
    assert.equal(address(), undefined);
    assert.equal(await answers(baseUrl(b)), false);
  });

  it('answers the POST /reload that moves its own listener to another host, same port', async (t) => {
    const port = await freePort();
    const proxy = await startObservedProxy(
      {
        upstream: 'static:///127.0.0.1:1',
        config: { admin: { address: { host: '127.0.0.1', port } } },
      },
      {
        reload: () =>
          proxy.proxy.reload({
            ...proxy.proxy.config,
            admin: { address: { host: '127.0.0.2', port } },
          }),
      },
    );
    t.after(() => proxy.close());
    const old = proxy.admin;
    const res = await adminRequest(old, '/reload', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.deepEqual((JSON.parse(res.body) as { clusters: { kept: string[] } }).clusters.kept, [
      'default',
    ]);
    assert.deepEqual(proxy.observability.adminAddress, { host: '127.0.0.2', port });
    assert.ok(await answers(`http://127.0.0.2:${port}`));
    assert.equal(await answers(old), false);
  });

  it('fails to start, leaving nothing open, when the admin port is taken', async (t) => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const tp = await startTestProxy({
      upstream: 'static:///127.0.0.1:1',
      config: { admin: { address: { host: '127.0.0.1', port } } },
    });
    t.after(async () => {
      await tp.close();
      await new Promise((resolve) => taken.close(resolve));
    });
    await assert.rejects(
      Observability.start(tp.proxy.config, tp.proxy, { logger: silentLogger(), version: 't' }),
      (err: Error & { code?: string }) =>
        err.code === 'SWY_ERR_LISTEN' && err.message.includes(`admin listener cannot listen`),
    );
  });

  it('close() stops the admin listener and is idempotent', async () => {
    const proxy = await startObservedProxy({ upstream: 'static:///127.0.0.1:1' });
    assert.ok(await answers(proxy.admin));
    await proxy.close();
    await proxy.observability.close();
    assert.equal(await answers(proxy.admin), false);
    // Reconfigure after close does nothing.
    await proxy.observability.reconfigure({
      ...proxy.proxy.config,
      admin: { address: { host: '127.0.0.1', port: 0 } },
    });
    assert.equal(proxy.observability.adminAddress, undefined);
  });
});
