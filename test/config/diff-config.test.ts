// diffConfig: listeners and clusters added, removed and changed by name; routes; globals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_OUTLIER_DETECTION, quickStartConfig } from '../../config/defaults.js';
import { deepEqual, diffConfig } from '../../config/diff-config.js';
import type { ClusterConfig, Config } from '../../config/types.js';

const base = quickStartConfig({ listen: '127.0.0.1:8080', upstream: '10.0.0.1:1' });
const cluster = (name: string, target: string): ClusterConfig => ({
  ...base.clusters[0],
  name,
  target,
});

test('identical configs, built separately, are unchanged', () => {
  const again = quickStartConfig({ listen: '127.0.0.1:8080', upstream: '10.0.0.1:1' });
  assert.deepEqual(diffConfig(base, again), {
    listeners: { added: [], removed: [], changed: [] },
    clusters: { added: [], removed: [], changed: [] },
    routesChanged: false,
    globalsChanged: [],
    unchanged: true,
  });
});

test('clusters and listeners by name: added, removed, changed', () => {
  const old: Config = {
    ...base,
    clusters: [cluster('a', 'a:1'), cluster('b', 'b:1'), cluster('c', 'c:1')],
  };
  const next: Config = {
    ...base,
    listeners: [
      { ...base.listeners[0], maxConcurrentStreams: 10 },
      { ...base.listeners[0], name: 'second', address: { host: '::1', port: 9 } },
    ],
    clusters: [
      cluster('d', 'd:1'),
      { ...cluster('c', 'c:1'), outlierDetection: DEFAULT_OUTLIER_DETECTION },
      cluster('a', 'a:1'),
    ],
  };
  const diff = diffConfig(old, next);
  assert.deepEqual(diff.listeners, { added: ['second'], removed: [], changed: ['main'] });
  assert.deepEqual(diff.clusters, { added: ['d'], removed: ['b'], changed: ['c'] });
  assert.equal(diff.routesChanged, false);
  assert.equal(diff.unchanged, false);
});

test('routes: any difference, order included', () => {
  const two: Config = {
    ...base,
    routes: [
      { name: 'x', match: { service: 'x.X', headers: [] }, cluster: 'default' },
      { name: 'y', match: { headers: [] }, cluster: 'default' },
    ],
  };
  const swapped: Config = { ...two, routes: [two.routes[1], two.routes[0]] };
  assert.equal(diffConfig(two, swapped).routesChanged, true);
  assert.equal(diffConfig(two, { ...two, routes: [...two.routes] }).routesChanged, false);
});

test('globals are listed by key', () => {
  const next: Config = {
    ...base,
    log: { ...base.log, level: 'debug' },
    shutdownGraceMs: 1,
    admin: { address: { host: '127.0.0.1', port: 9901 } },
  };
  assert.deepEqual(diffConfig(base, next).globalsChanged, ['admin', 'log', 'shutdownGraceMs']);
});

test('deepEqual treats undefined keys as absent, and nothing else', () => {
  assert.ok(deepEqual({ a: 1, b: undefined }, { a: 1 }));
  assert.ok(deepEqual([{ x: [1, 2] }], [{ x: [1, 2] }]));
  assert.ok(!deepEqual({ a: 1 }, { a: '1' }));
  assert.ok(!deepEqual([1, 2], { 0: 1, 1: 2 }));
  assert.ok(!deepEqual({ a: null }, { a: undefined }));
  assert.ok(!deepEqual([1], [1, 2]));
});

test('diffConfig leaves its arguments alone', () => {
  const old = structuredClone(base);
  const next = structuredClone({ ...base, workers: 4 });
  diffConfig(old, next);
  assert.deepStrictEqual(old, base);
  assert.equal(next.workers, 4);
});
