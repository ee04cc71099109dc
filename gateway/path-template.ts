// google.api.http path templates: parsing (`/v1/{name=shelves/*/books/*}:archive`) and matching
// a request path against one. The grammar (google/api/http.proto):
//   Template = "/" Segments [ Verb ] ;  Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;  Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;  Verb = ":" LITERAL ;

export type Segment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'single' } // `*`
  | { readonly kind: 'multi' }; // `**`, last before the verb

export interface TemplateVariable {
  /** The field path, e.g. ['book', 'name']. */
  readonly fieldPath: readonly string[];
  /** First segment index the variable covers. */
  readonly start: number;
  /** One past the last segment index it covers (the last may be `**`). */
  readonly end: number;
}

export interface PathTemplate {
  readonly text: string;
  readonly segments: readonly Segment[];
  readonly variables: readonly TemplateVariable[];
  readonly verb: string | undefined;
}

export class TemplateSyntaxError extends Error {}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters a literal may hold: the unreserved set, sub-delims, '@', and percent escapes. */
const LITERAL = /^(?:[A-Za-z0-9\-._~!$&'()+,;=@]|%[0-9A-Fa-f]{2})+$/;

/** Parses a template; throws TemplateSyntaxError saying what is wrong and where. */
export function parseTemplate(text: string): PathTemplate {
  if (!text.startsWith('/')) throw new TemplateSyntaxError('must start with "/"');
  let body = text.slice(1);
  let verb: string | undefined;
  // The verb is after the last ':' that is outside braces and after the last '/'.
  let depth = 0;
  let colon = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === '/' && depth === 0) colon = -1;
    else if (c === ':' && depth === 0) colon = i;
  }
  if (colon >= 0) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (!LITERAL.test(verb)) throw new TemplateSyntaxError(`bad verb ":${verb}"`);
  }
  const segments: Segment[] = [];
  const variables: TemplateVariable[] = [];
  let i = 0;
  const parts = splitTop(body);
  for (const part of parts) {
    if (part.startsWith('{')) {
      if (!part.endsWith('}')) throw new TemplateSyntaxError(`unclosed variable "${part}"`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf('=');
      const path = eq < 0 ? inner : inner.slice(0, eq);
      const fieldPath = path.split('.');
      if (!fieldPath.every((p) => IDENT.test(p))) {
        throw new TemplateSyntaxError(`bad field path "${path}" in "${part}"`);
      }
      if (variables.some((v) => v.fieldPath.join('.') === path)) {
        throw new TemplateSyntaxError(`field "${path}" bound twice`);
      }
      const sub = eq < 0 ? ['*'] : inner.slice(eq + 1).split('/');
      const start = i;
      for (const s of sub) {
        if (s.includes('{')) throw new TemplateSyntaxError(`nested variable in "${part}"`);
        segments.push(segmentOf(s));
        i++;
      }
      variables.push({ fieldPath, start, end: i });
    } else {
      segments.push(segmentOf(part));
      i++;
    }
  }
  const multi = segments.findIndex((s) => s.kind === 'multi');
  if (multi >= 0 && multi !== segments.length - 1) {
    throw new TemplateSyntaxError('"**" must be the last segment');
  }
  return { text, segments, variables, verb };
}

function segmentOf(s: string): Segment {
  if (s === '*') return { kind: 'single' };
  if (s === '**') return { kind: 'multi' };
  if (s === '') throw new TemplateSyntaxError('empty segment');
  if (!LITERAL.test(s)) throw new TemplateSyntaxError(`bad literal "${s}"`);
  return { kind: 'literal', value: s };
}

/** Splits on '/' outside braces. */
function splitTop(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') {
      if (depth > 0) throw new TemplateSyntaxError('nested "{"');
      depth++;
    } else if (c === '}') {
      if (depth === 0) throw new TemplateSyntaxError('unmatched "}"');
      depth--;
    } else if (c === '/' && depth === 0) {
      out.push(body.slice(from, i));
      from = i + 1;
    }
  }
  if (depth !== 0) throw new TemplateSyntaxError('unclosed "{"');
  out.push(body.slice(from));
  return out;
}

/** The template with variables replaced by what they match: two rules with the same key clash. */
export function templateKey(t: PathTemplate): string {
  const segs = t.segments.map((s) =>
    s.kind === 'literal' ? s.value : s.kind === 'single' ? '*' : '**',
  );
  return `/${segs.join('/')}${t.verb !== undefined ? ':' + t.verb : ''}`;
}

/**
 * Matches split request segments (still percent-encoded, verb removed) against a template.
 * Returns the variables' raw values, or null. Specificity for choosing among several matches is
 * `score`: per segment, literal beats `*` beats `**`.
 */
export function matchTemplate(t: PathTemplate, segs: readonly string[]): string[] | null {
  const ts = t.segments;
  const last = ts.at(-1);
  const hasMulti = last?.kind === 'multi';
  if (hasMulti ? segs.length < ts.length - 1 : segs.length !== ts.length) return null;
  for (let i = 0; i < ts.length; i++) {
    const s = ts[i];
    if (s.kind === 'multi') break;
    const got = segs[i];
    if (s.kind === 'literal') {
      if (got !== s.value) return null;
    } else if (got === '') {
      return null;
    }
  }
  return t.variables.map((v) => {
    const end = hasMulti && v.end === ts.length ? segs.length : v.end;
    const raw = segs.slice(v.start, end);
    // One segment: decode fully. Several: keep %2F encoded so the slashes stay meaningful.
    return v.end - v.start === 1 && ts[v.start].kind === 'single'
      ? safeDecode(raw[0])
      : raw.map((r) => safeDecode(r.replace(/%2[Ff]/g, '%252F'))).join('/');
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Higher is more specific, compared segment by segment (literal 3, `*` 2, `**` 1). */
export function specificity(t: PathTemplate): number[] {
  return t.segments.map((s) => (s.kind === 'literal' ? 3 : s.kind === 'single' ? 2 : 1));
}
