// A composed YAML document as plain data (mappings as objects, lists as arrays), in one pass:
// the yaml package's own toJS() looks every alias up by scanning the document again, and copies
// a merged mapping (`<<: *defaults`) anew for every use. Here an alias is the value of the node
// it names, converted once; merges follow YAML's rules (keys written in the mapping win, then
// earlier sources over later ones).
import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Node, type Pair } from 'yaml';

export class MergeError extends Error {
  override readonly name = 'MergeError';
  constructor(readonly offset: number) {
    super('merge sources must be mappings or aliases of mappings');
  }
}

/** The key as the yaml package turns it into a property name. */
export function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const value: unknown = key.value;
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `<<` written plain, as the yaml package tells a merge from a key named "<<". */
export function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  if (typeof key.value === 'symbol') return true;
  return key.value === '<<' && (key.type === undefined || key.type === 'PLAIN');
}

type Plain = Record<string, unknown>;

function setOwn(out: Plain, key: string, value: unknown): void {
  // `__proto__`, `toString` and friends must become own properties, not reach the prototype.
  if (key in out) {
    Object.defineProperty(out, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    out[key] = value;
  }
}

/**
 * Converts `root`. `targets` names each alias's node (see resolveAliases): it must have no
 * cycles. Throws MergeError for a merge of something that is not a mapping.
 */
export function toPlainValue(root: unknown, targets: ReadonlyMap<Alias, Node>): unknown {
  const done = new Map<unknown, unknown>();
  // Recursion is bounded by the document's depth (at most MAX_DEPTH, see yaml-document.ts).
  const convert = (node: unknown): unknown => {
    if (isAlias(node)) {
      const target = targets.get(node);
      if (target === undefined) return null;
      return done.has(target) ? done.get(target) : convert(target);
    }
    let value: unknown;
    if (isScalar(node)) {
      value = node.value;
    } else if (isSeq(node)) {
      value = node.items.map((item) => (isPair(item) ? pairObject(item) : convert(item)));
    } else if (isMap(node)) {
      value = mapObject(node.items);
    } else {
      value = null;
    }
    if ((node as Node | null)?.anchor !== undefined) done.set(node, value);
    return value;
  };
  const pairObject = (pair: Pair): Plain => mapObject([pair]);
  const mapObject = (pairs: readonly Pair[]): Plain => {
    const out: Plain = {};
    for (const pair of pairs) {
      if (isMergeKey(pair.key)) merge(out, pair.value);
      else setOwn(out, keyText(pair.key) ?? '', convert(pair.value));
    }
    return out;
  };
  // A key already set (written before the merge, or by an earlier source) stays; one written
  // after it replaces the merged value.
  const merge = (out: Plain, source: unknown): void => {
    const resolved = isAlias(source) ? targets.get(source) : source;
    const sources = isSeq(resolved) ? resolved.items : [source];
    for (const s of sources) {
      const value = convert(s);
      const target = isAlias(s) ? targets.get(s) : s;
      if (!isMap(target) || typeof value !== 'object' || value === null) {
        throw new MergeError((s as Node | null)?.range?.[0] ?? 0);
      }
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(out, key)) setOwn(out, key, (value as Plain)[key]);
      }
    }
  };
  return convert(root);
}
