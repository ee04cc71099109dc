// A certificate rotated in place and applied by SIGHUP: the reload's loader process reads the
// certificate files and hands them over (to every worker too), and new connections get the new
// certificate, with one process and with two workers.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createTestCerts } from '../support/certs.js';
import { echoClient, echoUnary, startEchoBackend } from '../support/echo-backend.js';
import { eventually } from '../support/proxy-harness.js';
import { closedPort } from '../support/raw-upstream.js';
import { startSwitchyard } from '../support/switchyard-process.js';

void describe('reloading a rotated certificate', () => {
  for (const workers of [1, 2]) {
    void it(`serves the new certificate to new connections (--workers ${workers})`, async (t) => {
      const [first, second] = await Promise.all([createTestCerts(), createTestCerts()]);
      const backend = await startEchoBackend({ name: 'a' });
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-tls-'));
      t.after(async () => {
        backend.kill();
        rmSync(dir, { recursive: true, force: true });
        await Promise.all([first.cleanup(), second.cleanup()]);
      });
      const install = (certs: typeof first) => {
        copyFileSync(certs.serverCertPath, join(dir, 'server.pem'));
        copyFileSync(certs.serverKeyPath, join(dir, 'server.key'));
      };
      install(first);
      const port = await closedPort();
      const file = join(dir, 'switchyard.yaml');
      writeFileSync(
        file,
        [
          'listeners:',
          `  - address: 127.0.0.1:${port}`,
          '    tls: { cert: server.pem, key: server.key }',
          'clusters:',
          `  main: { target: "${backend.address}" }`,
          `workers: ${workers}`,
          '',
        ].join('\n'),
      );
      const proxy = await startSwitchyard(['--config', file]);
      t.after(() => proxy.stop('SIGKILL'));
      if (workers > 1) {
        await eventually(() => proxy.lines.some((l) => l.includes('"workers serving"')), 15_000);
      }
      const call = async (ca: Buffer, i: number) => {
        // A new channel each time, so each call makes a new connection.
        const client = echoClient(`localhost:${port}`, {
          credentials: grpc.credentials.createSsl(ca),
          channelOptions: { 'test.channel': i },
        });
        try {
          return (await echoUnary(client, {}, { deadlineMs: 5_000 })).status.code;
        } finally {
          client.close();
        }
      };
      assert.equal(await call(first.ca, 1), grpc.status.OK);

      install(second);
      proxy.child.kill('SIGHUP');
      await eventually(
        () => proxy.lines.some((l) => l.includes(`"msg":"${file} reloaded"`)),
        60_000,
        'the reload',
      );
      assert.equal(await call(second.ca, 2), grpc.status.OK);
      assert.equal(await call(first.ca, 3), grpc.status.UNAVAILABLE);
    });
  }
});
