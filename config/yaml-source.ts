// A YAML config file parsed with positions: plain data for validation (environment
// substitution done), and the line and column of any key path for messages.
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { formatKeyPath, type ConfigIssue, type KeyPath } from './config-error.js';
import { plainScalarValue, substituteEnv, type Env } from './env-substitution.js';

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export interface YamlSource {
  /** The document as plain data, `${…}` substituted; undefined when `issues` has syntax errors. */
  readonly value: unknown;
  /** Syntax errors, duplicate keys and failed substitutions, in no particular order. */
  readonly issues: readonly ConfigIssue[];
  /** Paths whose value could not be substituted (their other problems are noise). */
  readonly unsubstituted: readonly KeyPath[];
  /**
   * Where the key (`on: 'key'`) or the value at `path` is written; the nearest enclosing
   * value's position when the path is not in the file (a default, or a missing key).
   */
  locate(path: KeyPath, on?: 'key' | 'value'): Position;
}

// In flow collections (`{ cert: ${CERT} }`) YAML reserves braces, so each `${…}` is swapped
// for private-use characters of the same length before parsing (offsets, lines and columns stay
// exact) and put back in the values afterwards.
const EXPRESSION = /\$?\$\{[^}\n]*\}/g;
const START = '\uE000';
const FILL = '\uE001';
const PLACEHOLDER = /\uE000\uE001*/g;

interface Expression {
  readonly offset: number;
  readonly text: string;
}

function protect(text: string): { text: string; expressions: Expression[] } {
  const expressions: Expression[] = [];
  if (text.includes(START) || text.includes(FILL)) return { text, expressions };
  const out = text.replace(EXPRESSION, (match: string, offset: number) => {
    expressions.push({ offset, text: match });
    return START + FILL.repeat(match.length - 1);
  });
  return { text: out, expressions };
}

function restore(value: string, range: readonly number[], expressions: Expression[]): string {
  if (!value.includes(START)) return value;
  const inside = expressions.filter((e) => e.offset >= range[0] && e.offset < range[1]);
  let k = 0;
  return value.replace(PLACEHOLDER, (match) => inside[k++]?.text ?? match);
}

function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  const value: unknown = key.value;
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || key.source === '<<');
}

export function parseYamlSource(text: string, file: string, env: Env): YamlSource {
  const lineCounter = new LineCounter();
  const { text: protectedText, expressions } = protect(text);
  const doc = parseDocument(protectedText, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    // Duplicates are reported below with their key path and both lines.
    uniqueKeys: false,
  });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issues: ConfigIssue[] = [];
  const issueAt = (offset: number, path: KeyPath, message: string) =>
    issues.push({ file, ...position(offset), path: formatKeyPath(path), message });

  for (const error of [...doc.errors, ...doc.warnings]) {
    issueAt(error.pos[0], [], error.message);
  }
  const syntaxOk = doc.errors.length === 0;
  const unsubstituted: KeyPath[] = [];

  const walk = (node: unknown, path: KeyPath): void => {
    if (isScalar(node)) {
      if (typeof node.value !== 'string') return;
      const original = restore(node.value, node.range ?? [0, 0, 0], expressions);
      const result = substituteEnv(original, env);
      if ('errors' in result) {
        for (const message of result.errors) issueAt(node.range?.[0] ?? 0, path, message);
        // Left as written: its other problems are dropped by path, a null would be "missing".
        unsubstituted.push(path);
        node.value = original;
      } else if (result.substituted && node.type === 'PLAIN') {
        node.value = plainScalarValue(result.value);
      } else {
        node.value = result.value;
      }
    } else if (isMap(node)) {
      // A list or mapping as a key (`? [a, b]`) names nothing here; dropped, so that it is
      // reported once rather than stringified.
      node.items = node.items.filter((pair) => {
        if (pair.key === null || isScalar(pair.key) || isMergeKey(pair.key)) return true;
        issueAt(
          (pair.key as Node).range?.[0] ?? 0,
          path,
          'keys must be names, not lists or mappings',
        );
        return false;
      });
      walkPairs(node.items, path);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) =>
        isPair(item) ? walkPairs([item], [...path, i]) : walk(item, [...path, i]),
      );
    }
  };
  const walkPairs = (pairs: readonly Pair[], path: KeyPath): void => {
    const seen = new Map<string, Pair>();
    for (const pair of pairs) {
      if (isScalar(pair.key) && typeof pair.key.value === 'string') {
        pair.key.value = restore(pair.key.value, pair.key.range ?? [0, 0, 0], expressions);
      }
      if (isMergeKey(pair.key)) continue;
      const key = keyText(pair.key) ?? '';
      const first = seen.get(key);
      const keyOffset = (pair.key as Node | null)?.range?.[0] ?? 0;
      if (first !== undefined) {
        const line = position((first.key as Node | null)?.range?.[0] ?? 0).line;
        issueAt(
          keyOffset,
          [...path, key],
          `duplicate key "${key}" (first written on line ${line})`,
        );
      }
      seen.set(key, pair);
      walk(pair.value, [...path, key]);
    }
  };
  if (syntaxOk) walk(doc.contents, []);

  let value: unknown;
  if (syntaxOk) {
    try {
      value = doc.toJS({ maxAliasCount: 1_000 });
    } catch (err) {
      issueAt(0, [], (err as Error).message);
    }
  }

  const locate = (path: KeyPath, on: 'key' | 'value' = 'value'): Position => {
    let node: unknown = doc.contents;
    let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
    for (const [i, key] of path.entries()) {
      node = resolveAlias(doc, node);
      const last = i === path.length - 1;
      let next: unknown;
      let keyOffset: number | undefined;
      if (isMap(node)) {
        const pair = findPair(doc, node, String(key));
        if (pair === undefined) break;
        keyOffset = (pair.key as Node | null)?.range?.[0];
        next = pair.value;
      } else if (isSeq(node) && typeof key === 'number' && key < node.items.length) {
        next = node.items[key];
      } else {
        break;
      }
      const valueOffset = (resolveAlias(doc, next) as Node | null)?.range?.[0];
      // A key written with no value (`tls:`) has nothing to point at but the key.
      const aliasOffset = (next as Node | null)?.range?.[0];
      offset =
        last && on === 'key' && keyOffset !== undefined
          ? keyOffset
          : (aliasOffset ?? valueOffset ?? keyOffset ?? offset);
      node = next;
    }
    return position(offset);
  };

  return { value: syntaxOk ? value : undefined, issues, unsubstituted, locate };
}

function resolveAlias(doc: Document, node: unknown): unknown {
  let current = node;
  for (let i = 0; i < 100 && isAlias(current); i++) current = current.resolve(doc);
  return current;
}

/** The pair for `key`, written in `map` or merged into it with `<<` (explicit keys win). */
function findPair(doc: Document, map: YAMLMap, key: string, depth = 0): Pair | undefined {
  let found: Pair | undefined;
  for (const pair of map.items) {
    if (!isMergeKey(pair.key) && keyText(pair.key) === key) found = pair;
  }
  if (found !== undefined || depth > 20) return found;
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const source = resolveAlias(doc, pair.value);
    const sources = isSeq(source) ? source.items.map((s) => resolveAlias(doc, s)) : [source];
    for (const s of sources) {
      if (!isMap(s)) continue;
      const merged = findPair(doc, s, key, depth + 1);
      if (merged !== undefined) return merged;
    }
  }
  return undefined;
}
