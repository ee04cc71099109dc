// Architecture gate: no import cycles, and each folder imports only the layers below it.
// From the bottom: common/ and h2/ import nothing of the project; config/, resolver/ and
// balancer/ stand on common/; grpc/ holds gRPC's wire conventions; transport/ is the HTTP/2
// seam (the only folder that may load node:http2); upstream/ (clusters,
// endpoint pools, dialers) and egress/ (HTTP CONNECT to upstream proxies) reach the backends;
// forward-proxy/ serves CONNECT; gateway/ transcodes REST/JSON to gRPC calls (beside proxy/,
// which feeds it requests and carries its calls); security/ verifies JWTs and evaluates gRFC A43
// policies without knowing any transport; proxy/ is the data path and the composition root;
// observability/ watches it; workers/ runs it on many cores; bin/ is the program. The library
// entry (index.ts) and embed/ never load the program, and only embed/ loads @grpc/grpc-js.
// The subpath entries (resolver/index.ts, balancer/index.ts, embed/index.ts for
// switchyard/resolver, /balancer, /grpc-js) live in their folders and obey the same rules.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const sourceDirs = [
  'common',
  'h2',
  'config',
  'resolver',
  'balancer',
  'grpc',
  'transport',
  'upstream',
  'egress',
  'forward-proxy',
  'gateway',
  'filter',
  'security',
  'proxy',
  'observability',
  'workers',
  'embed',
  'bin',
];

/** Which top-level folders (or single files) each folder may import from, besides itself. */
const allowed = {
  common: [],
  h2: [],
  config: ['common'],
  resolver: ['common'],
  balancer: ['common', 'resolver/endpoint.ts'],
  grpc: ['common', 'config', 'h2/frames/constants.ts'],
  transport: ['common', 'grpc', 'config', 'h2'],
  upstream: ['common', 'config', 'resolver', 'balancer', 'grpc', 'h2', 'transport'],
  egress: ['common', 'config', 'resolver', 'upstream'],
  'forward-proxy': ['common', 'config'],
  gateway: ['common', 'grpc', 'config', 'upstream', 'transport'],
  // Filters see metadata and a call context, never the transport; their config is plain data.
  filter: ['common', 'config/types.ts', 'security'],
  // JWT verification and A43 authorization: transport-free, so the proxy's filters and the
  // grpc-js interceptors wrap the same code.
  security: ['common'],
  proxy: [
    'filter',
    'common',
    'config',
    'resolver',
    'balancer',
    'grpc',
    'upstream',
    'egress',
    'forward-proxy',
    'gateway',
    'security',
    'h2',
    'transport',
  ],
  observability: ['common', 'config', 'balancer', 'grpc', 'upstream', 'proxy', 'filter'],
  workers: ['common', 'config', 'resolver', 'upstream', 'proxy', 'observability'],
  embed: ['common', 'resolver', 'balancer', 'security', 'egress/proxy-settings.ts'],
  bin: [
    'common',
    'config',
    'resolver',
    'balancer',
    'upstream',
    'proxy',
    'observability',
    'workers',
  ],
  // The library entry: everything a program embeds, never the program itself.
  'index.ts': [
    'common',
    'config',
    'resolver',
    'balancer',
    'grpc',
    'upstream',
    'egress',
    'proxy',
    'observability',
    'embed',
    'filter',
  ],
};
// filter/ holds the grpc-js interceptor adapters; like embed/ it imports grpc-js's types only
// and is handed the module by the program.
const grpcJsAllowed = ['embed', 'filter'];
/** The data path speaks switchyard's own HTTP/2 (h2/); node:http2 stays in tests and examples. */
const http2Allowed = [];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const files = [
  join(root, 'index.ts'),
  ...sourceDirs.flatMap((d) => {
    try {
      return walk(join(root, d), []);
    } catch {
      return [];
    }
  }),
];
const importRe =
  /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
const problems = [];
const graph = new Map();

for (const file of files) {
  const rel = relative(root, file);
  const top = rel.split('/')[0];
  const text = readFileSync(file, 'utf8');
  const edges = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('@grpc/grpc-js') && !grpcJsAllowed.includes(top)) {
      problems.push(`${rel}: imports @grpc/grpc-js; only embed/ may`);
    }
    if ((spec === 'node:http2' || spec === 'http2') && !http2Allowed.includes(top)) {
      problems.push(`${rel}: imports node:http2; the data path uses h2/ instead`);
    }
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    const targetTop = target.split('/')[0];
    edges.push(target);
    if (targetTop !== top) {
      const ok = (allowed[top] ?? []).some((a) => target === a || target.startsWith(a + '/'));
      if (!ok) problems.push(`${rel}: imports ${target}; ${top}/ may not depend on ${targetTop}/`);
    }
  }
  graph.set(rel, edges);
}

// Cycle detection (iterative colouring DFS).
const state = new Map();
function visit(start) {
  const stack = [[start, 0]];
  const path = [start];
  state.set(start, 1);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const edges = graph.get(top[0]) ?? [];
    if (top[1] >= edges.length) {
      state.set(top[0], 2);
      stack.pop();
      path.pop();
      continue;
    }
    const next = edges[top[1]++];
    if (!graph.has(next)) continue;
    const s = state.get(next);
    if (s === 1) {
      problems.push(`import cycle: ${[...path.slice(path.indexOf(next)), next].join(' -> ')}`);
    } else if (s === undefined) {
      state.set(next, 1);
      stack.push([next, 0]);
      path.push(next);
    }
  }
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`imports ok (${files.length} files)`);
