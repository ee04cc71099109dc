// Hot reload of the running binary: 20 config changes by SIGHUP and by rewriting the file,
// one invalid file among them, while a client calls continuously and a stream stays open.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  echoClient,
  echoServerStream,
  echoUnary,
  startEchoBackend,
} from '../support/echo-backend.js';
import { eventually } from '../support/proxy-harness.js';
import { closedPort } from '../support/raw-upstream.js';
import { startSwitchyard } from '../support/switchyard-process.js';

describe('hot reload of the binary', () => {
  it('applies 20 changes under load, rejects a bad file, and fails no call', async (t) => {
    const bs = await Promise.all(['a', 'b', 'c'].map((name) => startEchoBackend({ name })));
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-'));
    const file = join(dir, 'switchyard.yaml');
    const port = await closedPort();
    const configText = (i: number) => {
      const main = [bs[i % 3], bs[(i + 1) % 3]].map((b) => b.address).join(',');
      const extra = i % 2 === 0;
      return [
        'listeners:',
        `  - address: 127.0.0.1:${port}`,
        'routes:',
        ...(extra
          ? ['  - match: { service: test.Echo, method: ServerStream }', '    cluster: extra']
          : []),
        '  - cluster: main',
        'clusters:',
        `  main: { target: "${main}" }`,
        ...(extra ? [`  extra: { target: "${bs[2].address}", balancer: least_loaded }`] : []),
        `shutdownGrace: ${i + 1}s`,
        '',
      ].join('\n');
    };
    // Rename into place, as editors do, so the watcher never reads half a file.
    const write = (text: string) => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    write(configText(0));
    const proxy = await startSwitchyard(['--config', file]);
    const client = echoClient(`127.0.0.1:${port}`);
    t.after(async () => {
      client.close();
      await proxy.stop();
      bs.forEach((b) => b.kill());
      rmSync(dir, { recursive: true, force: true });
    });
    const reloads = () =>
      proxy.lines.filter((l) => l.includes('"msg":"configuration reloaded"')).length;
    const rejected = () =>
      proxy.lines.filter((l) => l.includes('rejected, the running configuration stays')).length;

    let stop = false;
    let calls = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (!stop) {
        const r = await echoUnary(client, {});
        calls++;
        if (r.status.code !== grpc.status.OK) failures.push(`${r.status.code} ${r.status.details}`);
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    const stream = echoServerStream(client, { responseCount: 2, delayMs: 2_000 });

    for (let i = 1; i <= 20; i++) {
      const before = reloads();
      if (i === 10) {
        write('listeners:\n  - address: 127.0.0.1:bad\nclusters: {}\n');
        proxy.child.kill('SIGHUP');
        await eventually(() => rejected() === 1, 5_000, 'the invalid file to be rejected');
        continue;
      }
      write(configText(i));
      // Odd changes are picked up by the file watch alone; even ones are also signalled.
      if (i % 2 === 0) proxy.child.kill('SIGHUP');
      await eventually(() => reloads() > before, 5_000, `reload ${i}`);
      const target = calls + 10;
      await eventually(() => calls >= target, 10_000, 'calls on the new config');
    }
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
    assert.ok(reloads() >= 19, `${reloads()} reloads`);
    const s = await stream;
    assert.equal(s.status.code, grpc.status.OK, s.status.details);
    assert.equal(s.messages, 2);
    assert.ok(
      proxy.lines.some((l) => l.includes('127.0.0.1:bad')),
      'the rejection names the problem',
    );
  });
});
