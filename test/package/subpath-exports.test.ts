// The subpath exports switchyard/resolver, switchyard/balancer and switchyard/grpc-js load only
// what they need: a program that embeds the resolver does not pay for pino, yaml, undici,
// @grpc/grpc-js or the proxy. Each import runs in a child process (a fresh module graph) that
// imports the package by its own name, as a dependent would, and reports every module it loaded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';

// Compiled, this file runs from dist/test/package; the package root is three folders up.
const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..', '..');
const distRoot = join(packageRoot, 'dist');
const hooksUrl = pathToFileURL(join(here, '..', 'support', 'module-recorder-hooks.js')).href;

/** Packages and project folders an embedder of the resolver or a balancer should not load. */
const HEAVY_PACKAGES = [
  'pino',
  'pino-pretty',
  'yaml',
  'undici',
  'consul',
  'prom-client',
  '@grpc/grpc-js',
];
const PROXY_FOLDERS = [
  'proxy',
  'upstream',
  'egress/tunnel',
  'forward-proxy',
  'observability',
  'workers',
  'bin',
  'config',
  'h2',
];

interface Loaded {
  exports: string[];
  /** Project files under dist/, relative ('resolver/index.js'). */
  project: string[];
  /** Package names from node_modules. */
  packages: string[];
}

/** Imports `specifier` in a fresh node and lists what it loaded, ES modules and CommonJS alike. */
async function load(specifier: string): Promise<Loaded> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-exports-'));
  try {
    const file = join(dir, 'resolved.txt');
    const program = `
      import { register, createRequire } from 'node:module';
      register(${JSON.stringify(hooksUrl)}, { data: { file: ${JSON.stringify(file)} } });
      const m = await import(${JSON.stringify(specifier)});
      const cjs = Object.keys(createRequire(process.cwd() + '/').cache);
      process.stdout.write(JSON.stringify({ exports: Object.keys(m), cjs }));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', program],
      { cwd: packageRoot },
    );
    const out = JSON.parse(stdout) as { exports: string[]; cjs: string[] };
    let resolved: string[] = [];
    try {
      resolved = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      // nothing resolved through the hooks
    }
    const paths = [
      ...resolved.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)),
      ...out.cjs,
    ];
    const project = new Set<string>();
    const packages = new Set<string>();
    for (const p of paths) {
      const nm = p.lastIndexOf('/node_modules/');
      if (nm >= 0) {
        const parts = p.slice(nm + '/node_modules/'.length).split('/');
        packages.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
      } else if (p.startsWith(distRoot + '/')) {
        project.add(p.slice(distRoot.length + 1));
      }
    }
    return { exports: out.exports, project: [...project].sort(), packages: [...packages].sort() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertLight(loaded: Loaded, entry: string): void {
  assert.ok(loaded.project.includes(entry), `${entry} not among ${loaded.project.join(', ')}`);
  const heavy = loaded.packages.filter((p) => HEAVY_PACKAGES.includes(p));
  assert.deepEqual(heavy, [], `loaded packages: ${loaded.packages.join(', ')}`);
  const proxy = loaded.project.filter((p) => PROXY_FOLDERS.some((f) => p.startsWith(`${f}/`)));
  assert.deepEqual(proxy, [], 'loaded parts of the proxy');
}

/** Every value a subpath exports is the very one the root exports. */
async function assertSameAsRoot(specifier: string): Promise<void> {
  const sub = (await import(specifier)) as Record<string, unknown>;
  const root = (await import('switchyard')) as Record<string, unknown>;
  for (const [name, value] of Object.entries(sub)) {
    assert.equal(root[name], value, `${specifier} exports ${name}, the root does not (or another)`);
  }
}

describe('subpath exports', () => {
  it('switchyard/resolver loads the resolver alone', async () => {
    const loaded = await load('switchyard/resolver');
    assert.ok(loaded.exports.includes('createResolver') && loaded.exports.includes('parseTarget'));
    assertLight(loaded, 'resolver/index.js');
    // Only the resolver and the bottom layer, nothing beside them.
    const others = loaded.project.filter((p) => !/^(resolver|common)\//.test(p));
    assert.deepEqual(others, []);
    await assertSameAsRoot('switchyard/resolver');
  });

  it('switchyard/balancer loads the balancer alone', async () => {
    const loaded = await load('switchyard/balancer');
    assert.ok(loaded.exports.includes('Balancer') && loaded.exports.includes('createBalancer'));
    assertLight(loaded, 'balancer/index.js');
    const others = loaded.project.filter(
      (p) => !/^(balancer|common)\//.test(p) && p !== 'resolver/endpoint.js',
    );
    assert.deepEqual(others, []);
    await assertSameAsRoot('switchyard/balancer');
  });

  it('switchyard/grpc-js loads no grpc-js until registration, and no proxy', async () => {
    const loaded = await load('switchyard/grpc-js');
    assert.ok(loaded.exports.includes('registerWithGrpcJs'));
    assertLight(loaded, 'embed/index.js');
    await assertSameAsRoot('switchyard/grpc-js');
  });

  it('the root export still loads everything (the check above sees what it should)', async () => {
    const loaded = await load('switchyard');
    assert.ok(loaded.exports.includes('createResolver') && loaded.exports.includes('loadConfig'));
    assert.ok(loaded.packages.includes('pino'), `packages: ${loaded.packages.join(', ')}`);
    assert.ok(loaded.project.some((p) => p.startsWith('proxy/')));
  });
});
