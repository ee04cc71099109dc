// The `headers` built-in: add, set, remove and rename request and response metadata, values
// filled from the peer identity or claims (value-template.ts). Request edits run in the request
// hook; response edits on the response headers, or on a trailers-only answer.
import type { HeaderEditsConfig } from '../config/types.js';
import type { Filter, FilterContext, FilterMetadata } from './filter.js';
import { compileTemplate, type ValueTemplate } from './value-template.js';
import { FilterConfigError } from './filter-errors.js';

/** One edit, or a whole list of them, on one call's metadata. */
type Edit = (ctx: FilterContext, md: FilterMetadata) => void;

function valueEdit(
  name: string,
  value: ValueTemplate,
  write: (md: FilterMetadata, name: string, value: string) => void,
): Edit {
  if (typeof value === 'string') return (_ctx, md) => write(md, name, value);
  return (ctx, md) => {
    const v = value(ctx);
    if (v !== undefined) write(md, name, v);
  };
}

const SET = (md: FilterMetadata, name: string, value: string): void => md.set(name, value);
const ADD = (md: FilterMetadata, name: string, value: string): void => md.add(name, value);

/**
 * The edits as one function, made once at config load. Order: rename, remove, set, add, so a
 * rename's old name can be set afresh. Only the edits configured are in it, and a single edit
 * (the usual `set` of one header) is the function itself, so a call runs no loop over empty
 * lists and no template parsing: constants are written as they are, `${…}` values by their
 * compiled function (value-template.ts).
 */
function compileEdits(e: HeaderEditsConfig, source: string): Edit | undefined {
  const edits: Edit[] = [];
  for (const [from, to] of Object.entries(e.rename)) {
    edits.push((_ctx, md) => {
      const v = md.get(from);
      if (v === undefined) return;
      md.remove(from);
      md.set(to, v);
    });
  }
  for (const name of e.remove) edits.push((_ctx, md) => md.remove(name));
  for (const [list, write] of [
    [e.set, SET],
    [e.add, ADD],
  ] as const) {
    for (const [name, v] of Object.entries(list)) {
      const t = compileTemplate(v);
      if (typeof t === 'object') {
        throw new FilterConfigError(`${source}: headers: ${name}: ${t.problem}`);
      }
      edits.push(valueEdit(name, t, write));
    }
  }
  if (edits.length === 0) return undefined;
  if (edits.length === 1) return edits[0];
  return (ctx, md) => {
    for (let i = 0; i < edits.length; i++) edits[i](ctx, md);
  };
}

export function headersFilter(
  request: HeaderEditsConfig,
  response: HeaderEditsConfig,
  source = 'headers',
): Filter {
  const req = compileEdits(request, source);
  const res = compileEdits(response, source);
  const filter: { -readonly [K in keyof Filter]: Filter[K] } = { name: 'headers' };
  if (req !== undefined) filter.onRequestHeaders = req;
  if (res !== undefined) {
    filter.onResponseHeaders = res;
    // A trailers-only answer (a status with no response) carries its headers in the trailers.
    filter.onTrailers = (ctx, _code, md) => {
      if (md.get(':status') !== undefined) res(ctx, md);
    };
  }
  return filter;
}
