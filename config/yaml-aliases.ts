// What each alias in a composed YAML document names, found in one pass in file order, and how
// far the aliases would multiply the document. The yaml package looks an alias up by scanning
// every anchor and alias before it (quadratic in their number), and an alias is expanded wherever
// it is used: 1,000 keys aliased 1,000 times are a million values to check from a small file.
import { isAlias, isMap, isPair, isSeq, type Alias, type Document, type Node } from 'yaml';

/**
 * Aliases may add at most this many values to those written, plus EXPANSION_FACTOR per value
 * written: shared defaults (`<<: *defaults` in every cluster) stay well inside, while the work of
 * checking a file stays proportional to its size.
 */
export const EXPANSION_ALLOWANCE = 100_000;
export const EXPANSION_FACTOR = 10;

export interface AliasTable {
  /** The node each alias names: the last one anchored with its name before it. */
  readonly targets: ReadonlyMap<Alias, Node>;
  /** Why the document is refused, and where; undefined when its aliases are fine. */
  readonly problem: { readonly offset: number; readonly message: string } | undefined;
}

export function resolveAliases(doc: Document): AliasTable {
  const targets = new Map<Alias, Node>();
  const anchors = new Map<string, Node>();
  /** Expanded size of each anchored node, once its whole value has been seen. */
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  let problem: AliasTable['problem'];
  let written = 0;
  let expanded = 0;
  /** [offset, values so far] at each alias, to say where the budget ran out. */
  const marks: [number, number][] = [];

  // Recursion is bounded: the document nests at most MAX_DEPTH levels (see yaml-document.ts),
  // and an alias is never followed, its target's size is looked up.
  const measure = (node: unknown): number => {
    if (problem !== undefined || node === null || node === undefined) return 0;
    if (isAlias(node)) {
      written++;
      const target = anchors.get(node.source);
      const offset = node.range?.[0] ?? 0;
      if (target === undefined) return 1; // the composer reports it
      if (open.has(target)) {
        problem = { offset, message: `alias *${node.source} is inside the value it names` };
        return 0;
      }
      targets.set(node, target);
      const size = sizes.get(target) ?? 1;
      expanded += size;
      marks.push([offset, expanded]);
      return size;
    }
    const anchored = (node as Node).anchor !== undefined ? (node as Node) : undefined;
    if (anchored !== undefined) {
      anchors.set(anchored.anchor!, anchored);
      open.add(anchored);
    }
    written++;
    expanded++;
    let size = 1;
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items) {
        if (isPair(item)) size += measure(item.key) + measure(item.value);
        else size += measure(item);
      }
    }
    if (anchored !== undefined) {
      open.delete(anchored);
      sizes.set(anchored, size);
    }
    return size;
  };
  measure(doc.contents);

  const limit = EXPANSION_FACTOR * written + EXPANSION_ALLOWANCE;
  if (problem === undefined && expanded > limit) {
    const at = marks.find(([, total]) => total > limit) ?? marks[marks.length - 1];
    problem = {
      offset: at[0],
      message:
        `aliases expand this file to more than ${limit} values ` +
        `(${EXPANSION_FACTOR} times the ${written} written, plus ${EXPANSION_ALLOWANCE})`,
    };
  }
  return { targets, problem };
}
