// Parses YAML text into one document, refusing nesting deeper than MAX_DEPTH before the
// composer (which recurses once per level) sees it: a file of 100,000 `[` otherwise runs the
// stack out, and doing so twice in one process has aborted it (V8 fails to compile a regular
// expression at the stack's end and reports that as out of memory).
import { Composer, LineCounter, Parser, YAMLParseError, type CST, type Document } from 'yaml';

/** Deeper than any config needs (listeners[0].connect.tls.cert is 5); far from the stack's end. */
export const MAX_DEPTH = 100;

export type ParsedYaml =
  | { readonly doc: Document.Parsed; readonly lineCounter: LineCounter }
  /** Nesting deeper than MAX_DEPTH starts at `offset`; nothing was composed. */
  | { readonly tooDeep: number; readonly lineCounter: LineCounter };

export function parseYamlDocument(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // The parser keeps its own stack of open collections: it does not recurse per level.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deep = firstTooDeep(tokens);
  if (deep !== undefined) return { tooDeep: deep, lineCounter };
  // As parseDocument() does it. Duplicate keys are reported by the caller, with their key path
  // and both lines (the yaml package's own check also compares every key with every other).
  const composer = new Composer({ merge: true, uniqueKeys: false });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, text.length)) {
    if (doc === undefined) {
      doc = next;
    } else {
      doc.errors.push(
        new YAMLParseError(
          [next.range[0], next.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents; please use YAML.parseAllDocuments()',
        ),
      );
      break;
    }
  }
  return { doc: doc!, lineCounter };
}

/** The offset of the first node (in file order) deeper than MAX_DEPTH, the document being 0. */
function firstTooDeep(tokens: readonly CST.Token[]): number | undefined {
  const stack: [CST.Token, number][] = [];
  for (let i = tokens.length - 1; i >= 0; i--) stack.push([tokens[i], 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) return token.offset;
    const children: (CST.Token | null | undefined)[] = [];
    switch (token.type) {
      case 'document':
        children.push(token.value);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        for (const item of token.items) children.push(item.key, item.value);
        break;
      default:
        break;
    }
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i];
      if (child) stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
