// Strict JSON with positions: JSON.parse decides what is valid (a trailing comma or a comment is
// an error, as it is for grpc-go and grpc-java reading the same file), and the yaml package's
// parse of the same text gives each value's line:col for the checks that come after.
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { SourcePosition } from './errors.js';

/** A parsed JSON document that can say where each value starts. */
export interface JsonSource {
  readonly value: unknown;
  /** Where the value at `path` starts (keys and array indexes from the root); the root if absent. */
  locate(path: readonly (string | number)[]): SourcePosition;
}

export type JsonParseResult =
  | { readonly ok: true; readonly source: JsonSource }
  | { readonly ok: false; readonly message: string; readonly position: SourcePosition };

/** 1-based line and column of a character offset. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(0, offset), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

// V8 names the offset ("… in JSON at position 11"); Node 20 to 24 all print it this way.
const POSITION = /at position (\d+)/;

export function parseJsonSource(text: string, file: string): JsonParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const m = POSITION.exec(message);
    // V8 leaves the position out of some messages ("Unexpected token 'a', "name: p" is not
    // valid JSON"); the scanner finds it then.
    const offset = m !== null ? Number(m[1]) : jsonErrorOffset(text);
    const { line, column } = lineColumnAt(text, offset);
    return {
      ok: false,
      message: message
        .replace(/\s*\(line \d+ column \d+\)/, '')
        .replace(/ in JSON at position \d+/, '')
        .replace(/, ".*" is not valid JSON$/s, ''),
      position: { file, line, column },
    };
  }
  let located: { doc: ReturnType<typeof parseDocument>; counter: LineCounter } | undefined;
  return {
    ok: true,
    source: {
      value,
      locate(path) {
        // Parsed again only when a problem must be placed: a valid policy costs one JSON.parse.
        if (located === undefined) {
          const counter = new LineCounter();
          located = {
            doc: parseDocument(text, { lineCounter: counter, uniqueKeys: false }),
            counter,
          };
        }
        for (let n = path.length; n >= 0; n--) {
          const node: unknown =
            n === 0 ? located.doc.contents : located.doc.getIn(path.slice(0, n), true);
          if (isNode(node) && node.range !== undefined && node.range !== null) {
            const pos = located.counter.linePos(node.range[0]);
            return { file, line: pos.line, column: pos.col };
          }
        }
        return { file, line: 1, column: 1 };
      },
    },
  };
}

/** Where the scanner stopped: thrown to leave the recursion at once. */
class JsonStop extends Error {
  constructor(readonly at: number) {
    super(`invalid JSON at offset ${at}`);
  }
}

/**
 * The offset of the first character that makes `text` invalid JSON (RFC 8259), or its length
 * when it ends too early. Only called once JSON.parse has failed, to place the error.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw new JsonStop(i);
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    i++;
  };
  const number = () => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 1000) fail();
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  try {
    value(0);
    ws();
    return i;
  } catch (stop) {
    if (stop instanceof JsonStop) return stop.at;
    throw stop;
  }
}

/** `allow_rules[0].request.paths[2]` from `['allow_rules', 0, 'request', 'paths', 2]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}
