// gRPC-Web from a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; nothing downloaded) runs @connectrpc/connect-web's gRPC-Web transport,
// bundled by esbuild into a temporary directory, from a page on another origin than the proxy,
// so every call also goes through CORS (a preflight for the custom header, exposed headers).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { DEFAULT_CORS } from '../../config/defaults.js';
import { loadProtos } from '../../gateway/descriptor-pool.js';
import { startTestProxy } from '../support/proxy-harness.js';
import { LIBRARY_DIR, LIBRARY_PROTO, startLibraryBackend } from '../support/library-backend.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const PAGE_SOURCE = join(LIBRARY_DIR, 'grpc-web-page.mjs');
const REPO_ROOT = join(LIBRARY_DIR, '..', '..', '..');

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

/** The page script and its libraries in one file, built now into a temporary directory. */
async function bundle(dir: string): Promise<string> {
  const outfile = join(dir, 'page.js');
  await build({
    entryPoints: [PAGE_SOURCE],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome110',
    outfile,
    nodePaths: [join(REPO_ROOT, 'node_modules')],
    logLevel: 'silent',
  });
  return readFileSync(outfile, 'utf8');
}

/** library.proto and its imports as a serialized FileDescriptorSet, for the page's registry. */
function descriptorSet(): string {
  const pool = loadProtos({ files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] });
  const files = [...pool.registry.files].map((f) => f.proto);
  return Buffer.from(
    toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files })),
  ).toString('base64');
}

/** Serves the page and the bundle from its own loopback port: another origin than the proxy. */
async function servePage(script: string): Promise<{ origin: string; close(): void }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        '<!doctype html><title>gRPC-Web</title><script type="module" src="/page.js"></script>',
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

interface CallError {
  code: number;
  message: string;
  trailer: string | undefined;
  details: number;
}

interface PageResults {
  unary: { name: string; pages: string };
  stream: string[];
  error: CallError;
  midStream: CallError & { seen: string[] };
  metadata: { received: string[]; header: string | null };
}

describe('gRPC-Web in a browser', () => {
  it(
    hasChromium
      ? 'connect-web calls through the proxy from another origin: unary, a stream, errors with metadata'
      : `skipped: ${CHROMIUM} is absent, so gRPC-Web cannot be tested in a browser`,
    { skip: !hasChromium, timeout: 90_000 },
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'swy-grpc-web-page-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const script = await bundle(dir);
      const page = await servePage(script);
      t.after(() => page.close());
      const backend = await startLibraryBackend();
      t.after(() => backend.close());
      const proxy = await startTestProxy({
        upstream: backend.address,
        listener: {
          gateway: {
            grpcWeb: true,
            openapiPath: '/openapi.json',
            cors: { ...DEFAULT_CORS, allowOrigins: [page.origin] },
            rest: false,
            forwardHeaders: [],
            maxBodyBytes: 1 << 20,
            emitDefaults: false,
            useProtoNames: false,
          },
        },
      });
      t.after(() => proxy.close());
      const browser = await launch();
      t.after(() => browser.close());

      const tab = await browser.newPage();
      tab.setDefaultTimeout(10_000);
      const problems: string[] = [];
      tab.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      await tab.goto(`${page.origin}/`);
      await tab.waitForFunction(() => 'runCalls' in globalThis);
      const results = (await tab.evaluate(
        ([base, set]) =>
          (globalThis as unknown as { runCalls(b: string, s: string): Promise<unknown> }).runCalls(
            base,
            set,
          ),
        [`http://${proxy.target}`, descriptorSet()] as const,
      )) as PageResults;

      assert.deepEqual(problems, []);
      assert.deepEqual(results.unary, { name: 'shelves/1/books/2', pages: '7' });
      assert.deepEqual(results.stream, [
        'shelves/9/books/0',
        'shelves/9/books/1',
        'shelves/9/books/2',
      ]);
      // Trailers-only: grpc-status, grpc-message, grpc-status-details-bin and the custom
      // trailer all in headers, readable only because they are exposed.
      assert.deepEqual(results.error, {
        code: 5,
        message: 'no such book: ünïcode',
        trailer: 'yes',
        details: 1,
      });
      assert.deepEqual(results.midStream, {
        seen: ['s/books/0', 's/books/1'],
        code: 14,
        message: 'failed after 2',
        trailer: 'done',
        details: 0,
      });
      // x-tenant needed a preflight; the response header needed exposing.
      assert.ok(
        results.metadata.received.includes('x-tenant=blue'),
        results.metadata.received.join(),
      );
      assert.equal(results.metadata.header, 'h1');
    },
  );
});
