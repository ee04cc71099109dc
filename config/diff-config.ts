// What changed between two validated configs, by listener and cluster name: what a reload has
// to open, close or rebuild (and what it may leave running).
import type { Config } from './types.js';

export interface NamedChanges {
  /** In the new config only, in its order. */
  readonly added: readonly string[];
  /** In the old config only, in its order. */
  readonly removed: readonly string[];
  /** In both, with any setting different, in the new config's order. */
  readonly changed: readonly string[];
}

/** The top-level settings outside listeners, routes and clusters. */
export type GlobalSetting = 'admin' | 'workers' | 'log' | 'accessLog' | 'shutdownGraceMs';

export interface ConfigDiff {
  readonly listeners: NamedChanges;
  readonly clusters: NamedChanges;
  /** The route list differs in any way (order included: the first match wins). */
  readonly routesChanged: boolean;
  /** Global settings that differ, in this order: admin, workers, log, accessLog, shutdownGraceMs. */
  readonly globalsChanged: readonly GlobalSetting[];
  /** Nothing at all differs. */
  readonly unchanged: boolean;
}

const GLOBALS: readonly GlobalSetting[] = [
  'admin',
  'workers',
  'log',
  'accessLog',
  'shutdownGraceMs',
];

/**
 * Compares two configs as plain data. Pure: it neither mutates nor keeps its arguments. A key
 * set to undefined counts as absent, so a config built in code equals the same one loaded from
 * YAML.
 */
export function diffConfig(old: Config, next: Config): ConfigDiff {
  const listeners = diffNamed(old.listeners, next.listeners);
  const clusters = diffNamed(old.clusters, next.clusters);
  const routesChanged = !deepEqual(old.routes, next.routes);
  const globalsChanged = GLOBALS.filter((key) => !deepEqual(old[key], next[key]));
  const unchanged =
    !routesChanged &&
    globalsChanged.length === 0 &&
    [listeners, clusters].every(
      (c) => c.added.length === 0 && c.removed.length === 0 && c.changed.length === 0,
    );
  return { listeners, clusters, routesChanged, globalsChanged, unchanged };
}

function diffNamed<T extends { readonly name: string }>(
  old: readonly T[],
  next: readonly T[],
): NamedChanges {
  const before = new Map(old.map((item) => [item.name, item]));
  const after = new Set(next.map((item) => item.name));
  const added: string[] = [];
  const changed: string[] = [];
  for (const item of next) {
    const previous = before.get(item.name);
    if (previous === undefined) added.push(item.name);
    else if (!deepEqual(previous, item)) changed.push(item.name);
  }
  const removed = old.filter((item) => !after.has(item.name)).map((item) => item.name);
  return { added, removed, changed };
}

/** Structural equality of plain data (objects, arrays, primitives); undefined keys ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => deepEqual(item, other[i]));
  }
  const keysOf = (o: object) =>
    Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const ka = keysOf(a);
  const kb = keysOf(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && deepEqual(ra[k], rb[k]));
}
