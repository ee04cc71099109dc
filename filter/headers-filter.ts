// The `headers` built-in: add, set, remove and rename request and response metadata, values
// filled from the peer identity or claims (value-template.ts). Request edits run in the request
// hook; response edits on the response headers, or on a trailers-only answer.
import type { HeaderEditsConfig } from '../config/types.js';
import type { Filter, FilterContext, FilterMetadata } from './filter.js';
import { compileTemplate, fillTemplate, type ValueTemplate } from './value-template.js';
import { FilterConfigError } from './filter-errors.js';

interface CompiledEdits {
  readonly rename: readonly (readonly [from: string, to: string])[];
  readonly remove: readonly string[];
  readonly set: readonly (readonly [name: string, value: ValueTemplate])[];
  readonly add: readonly (readonly [name: string, value: ValueTemplate])[];
}

function compileEdits(e: HeaderEditsConfig, source: string): CompiledEdits | undefined {
  const values = (map: Readonly<Record<string, string>>) =>
    Object.entries(map).map(([name, v]) => {
      const t = compileTemplate(v);
      if (typeof t === 'object' && 'problem' in t) {
        throw new FilterConfigError(`${source}: headers: ${name}: ${t.problem}`);
      }
      return [name, t] as const;
    });
  const out: CompiledEdits = {
    rename: Object.entries(e.rename),
    remove: e.remove,
    set: values(e.set),
    add: values(e.add),
  };
  const empty = out.rename.length + out.remove.length + out.set.length + out.add.length === 0;
  return empty ? undefined : out;
}

/**
 * Order: rename, remove, set, add, so a rename's old name can be set afresh. Indexed loops:
 * this runs per call, and most lists are empty.
 */
function apply(e: CompiledEdits, ctx: FilterContext, md: FilterMetadata): void {
  const { rename, remove, set, add } = e;
  for (let i = 0; i < rename.length; i++) {
    const v = md.get(rename[i][0]);
    if (v === undefined) continue;
    md.remove(rename[i][0]);
    md.set(rename[i][1], v);
  }
  for (let i = 0; i < remove.length; i++) md.remove(remove[i]);
  for (let i = 0; i < set.length; i++) {
    const v = fillTemplate(set[i][1], ctx);
    if (v !== undefined) md.set(set[i][0], v);
  }
  for (let i = 0; i < add.length; i++) {
    const v = fillTemplate(add[i][1], ctx);
    if (v !== undefined) md.add(add[i][0], v);
  }
}

export function headersFilter(
  request: HeaderEditsConfig,
  response: HeaderEditsConfig,
  source = 'headers',
): Filter {
  const req = compileEdits(request, source);
  const res = compileEdits(response, source);
  const filter: { -readonly [K in keyof Filter]: Filter[K] } = { name: 'headers' };
  if (req !== undefined) {
    filter.onRequestHeaders = (ctx, md) => {
      apply(req, ctx, md);
    };
  }
  if (res !== undefined) {
    filter.onResponseHeaders = (ctx, md) => apply(res, ctx, md);
    // A trailers-only answer (a status with no response) carries its headers in the trailers.
    filter.onTrailers = (ctx, _code, md) => {
      if (md.get(':status') !== undefined) apply(res, ctx, md);
    };
  }
  return filter;
}
