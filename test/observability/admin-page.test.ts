// The admin page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core;
// nothing is downloaded): it loads without errors, shows every endpoint and route, computes
// call rates, and turns a row from ready to another state when its backend dies.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { echoClient, echoUnary, startEchoBackend } from '../support/echo-backend.js';
import { delay, eventually, testCluster } from '../support/proxy-harness.js';
import { startObservedProxy } from './observed-proxy.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

async function launch(): Promise<Browser> {
  // A fresh temporary profile per launch (playwright's default), no network services.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    timeout: 30_000,
  });
}

describe('admin page', () => {
  it(
    hasChromium
      ? 'shows every endpoint live and marks one whose backend dies within seconds'
      : `skipped: ${CHROMIUM} is absent, so the admin page cannot be tested in a browser`,
    { skip: !hasChromium, timeout: 90_000 },
    async (t) => {
      const a = await startEchoBackend({ name: 'a' });
      const b = await startEchoBackend({ name: 'b' });
      const c = await startEchoBackend({ name: 'c' });
      const proxy = await startObservedProxy({
        upstream: [a.address, b.address],
        clusters: [testCluster('side', c.address)],
        routes: [
          {
            name: 'to-side',
            match: { service: 'test.Echo', method: 'ServerStream', headers: [] },
            cluster: 'side',
          },
        ],
      });
      const client = echoClient(proxy.target);
      let load = true;
      const traffic = (async () => {
        // About 50 calls a second, so the page has call rates to show.
        while (load) {
          await echoUnary(client, {});
          await delay(20);
        }
      })();
      const browser = await launch();
      t.after(async () => {
        load = false;
        await traffic;
        client.close();
        await browser.close();
        await proxy.close();
        for (const backend of [a, b, c]) backend.kill();
      });

      const page = await browser.newPage();
      page.setDefaultTimeout(5_000);
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      await page.goto(`${proxy.admin}/`);

      const rowState = (key: string) =>
        page.locator(`tr[data-endpoint="${key}"]`).getAttribute('data-state');
      await eventually(
        async () => (await page.locator('tr[data-endpoint][data-state="ready"]').count()) === 3,
        10_000,
        'three ready rows',
      );
      for (const backend of [a, b, c]) assert.equal(await rowState(backend.address), 'ready');

      // One table per cluster, with column headers, and the route → cluster mapping.
      assert.equal(await page.locator('#version').textContent(), '9.9.9-test');
      assert.deepEqual(await page.locator('section[data-cluster] h2').allTextContents(), [
        'Cluster side',
        'Cluster default',
      ]);
      const headers = await page
        .locator('section[data-cluster="default"] thead th[scope="col"]')
        .allTextContents();
      assert.deepEqual(headers.slice(0, 4), ['Endpoint', 'State', 'In flight', 'Calls/s']);
      const routes = await page.locator('#routes tbody tr').allTextContents();
      assert.deepEqual(routes, ['to-side/test.Echo/ServerStreamside', 'defaultevery calldefault']);

      // Call rates come from two polls of the endpoints' call counters.
      const rate = page.locator(`tr[data-endpoint="${a.address}"] td`).nth(2);
      await eventually(async () => Number(await rate.textContent()) > 0, 10_000, 'a call rate');

      // A backend dies: its row leaves "ready" within a few seconds, and the change is
      // announced to screen readers.
      const killedAt = Date.now();
      b.kill();
      await eventually(
        async () => (await rowState(b.address)) !== 'ready',
        5_000,
        'the killed backend to leave ready',
      );
      const seconds = (Date.now() - killedAt) / 1000;
      t.diagnostic(`row of the killed backend changed state after ${seconds.toFixed(1)} s`);
      assert.match(String(await rowState(b.address)), /^(connecting|failing|idle)$/);
      assert.equal(await rowState(a.address), 'ready');
      const announcer = page.locator('#announcer');
      await eventually(
        async () => (await announcer.textContent())?.includes(b.address) === true,
        3_000,
        'an announcement',
      );
      assert.match(String(await announcer.textContent()), /in default: ready → /);
      assert.deepEqual(problems, []);
    },
  );
});
