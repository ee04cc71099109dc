// A YAML config file parsed with positions: plain data for validation (environment
// substitution done), and the line and column of any key path for messages.
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Alias,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { clip, formatKeyPath, type ConfigIssue, type KeyPath } from './config-error.js';
import { plainScalarValue, substituteEnv, type Env } from './env-substitution.js';
import { resolveAliases } from './yaml-aliases.js';
import { MAX_DEPTH, parseYamlDocument } from './yaml-document.js';
import { isMergeKey, keyText, MergeError, toPlainValue } from './yaml-value.js';

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
  // Expressions are in file order: find the first one inside the range by bisection.
  let lo = 0;
  let hi = expressions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (expressions[mid].offset < range[0]) lo = mid + 1;
    else hi = mid;
  }
  let k = lo;
  return value.replace(PLACEHOLDER, (match) => {
    const e = expressions[k];
    if (e === undefined || e.offset >= range[1]) return match;
    k++;
    return e.text;
  });
}

export function parseYamlSource(text: string, file: string, env: Env): YamlSource {
  const { text: protectedText, expressions } = protect(text);
  const parsed = parseYamlDocument(protectedText);
  const position = (offset: number): Position => {
    const { line, col } = parsed.lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issues: ConfigIssue[] = [];
  const issueAt = (offset: number, path: KeyPath, message: string) =>
    issues.push({ file, ...position(offset), path: formatKeyPath(path), message });

  if ('tooDeep' in parsed) {
    issueAt(parsed.tooDeep, [], `the document nests deeper than ${MAX_DEPTH} levels`);
    return { value: undefined, issues, unsubstituted: [], locate: () => position(0) };
  }
  const doc = parsed.doc;
  for (const error of [...doc.errors, ...doc.warnings]) {
    issueAt(error.pos[0], [], error.message);
  }
  const aliases = doc.errors.length === 0 ? resolveAliases(doc) : undefined;
  if (aliases?.problem !== undefined) issueAt(aliases.problem.offset, [], aliases.problem.message);
  const syntaxOk = doc.errors.length === 0 && aliases?.problem === undefined;
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
          `duplicate key "${clip(key)}" (first written on line ${line})`,
        );
      }
      seen.set(key, pair);
      walk(pair.value, [...path, key]);
    }
  };
  if (syntaxOk) walk(doc.contents, []);

  let value: unknown;
  let converted = false;
  if (syntaxOk) {
    try {
      value = toPlainValue(doc.contents, aliases!.targets);
      converted = true;
    } catch (err) {
      if (!(err instanceof MergeError)) throw err;
      issueAt(err.offset, [], err.message);
    }
  }

  const targets = aliases?.targets ?? new Map<Alias, Node>();
  const resolve = (node: unknown): unknown => (isAlias(node) ? targets.get(node) : node);
  const pairs = new PairIndex(resolve);
  const locate = (path: KeyPath, on: 'key' | 'value' = 'value'): Position => {
    let node: unknown = doc.contents;
    let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
    for (const [i, key] of path.entries()) {
      node = resolve(node);
      const last = i === path.length - 1;
      let next: unknown;
      let keyOffset: number | undefined;
      if (isMap(node)) {
        const pair = pairs.find(node, String(key));
        if (pair === undefined) break;
        keyOffset = (pair.key as Node | null)?.range?.[0];
        next = pair.value;
      } else if (isSeq(node) && typeof key === 'number' && key < node.items.length) {
        next = node.items[key];
      } else {
        break;
      }
      const valueOffset = (resolve(next) as Node | null)?.range?.[0];
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

  return { value: converted ? value : undefined, issues, unsubstituted, locate };
}

/**
 * The pair for a key in a mapping, written there or merged into it with `<<` (written keys win,
 * then earlier merge sources): each mapping is indexed once, so locating every one of 100,000
 * problems costs no more than the file has keys.
 */
class PairIndex {
  private readonly indexes = new Map<YAMLMap, Map<string, Pair | null>>();
  private readonly sources = new Map<YAMLMap, YAMLMap[]>();

  constructor(private readonly resolve: (node: unknown) => unknown) {}

  find(map: YAMLMap, key: string, depth = 0): Pair | undefined {
    const index = this.index(map);
    const known = index.get(key);
    if (known !== undefined) return known ?? undefined;
    let found: Pair | undefined;
    // Bounded as the file's nesting is: a merge source is a mapping written above.
    if (depth < 20) {
      for (const source of this.mergeSources(map)) {
        found = this.find(source, key, depth + 1);
        if (found !== undefined) break;
      }
    }
    index.set(key, found ?? null);
    return found;
  }

  private index(map: YAMLMap): Map<string, Pair | null> {
    let index = this.indexes.get(map);
    if (index === undefined) {
      index = new Map();
      for (const pair of map.items) {
        if (!isMergeKey(pair.key)) index.set(keyText(pair.key) ?? '', pair);
      }
      this.indexes.set(map, index);
    }
    return index;
  }

  private mergeSources(map: YAMLMap): YAMLMap[] {
    let out = this.sources.get(map);
    if (out !== undefined) return out;
    out = [];
    this.sources.set(map, out);
    for (const pair of map.items) {
      if (!isMergeKey(pair.key)) continue;
      const source = this.resolve(pair.value);
      for (const s of isSeq(source) ? source.items.map(this.resolve) : [source]) {
        if (isMap(s)) out.push(s);
      }
    }
    return out;
  }
}
