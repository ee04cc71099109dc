// Metadata values with `${…}` filled in per call from the peer identity or the token claims:
// `${peer.address}`, `${peer.subject}`, `${peer.cn}`, `${peer.spiffe}`, `${peer.uri}`,
// `${peer.dns}`, `${peer.email}` (lists joined with ","), `${claims.NAME}` (dotted paths reach
// into objects; arrays joined with ","). Compiled once at config load into a constant string or
// one function that builds the value: a constant costs nothing per call, `${peer.address}` alone
// is the accessor itself (no loop, no concatenation), text around one name is one `+`.
import type { FilterContext } from './filter.js';

type Fill = (ctx: FilterContext) => string | undefined;
type Part = string | Fill;

/**
 * A compiled value: a constant, or a function giving the value for a call; undefined when a part
 * it needs is missing (then nothing is written).
 */
export type ValueTemplate = string | Fill;

/** A claim or identity value as metadata text: lists joined with ",", objects as JSON. */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => text(x) ?? '').join(',');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${v}`;
  return JSON.stringify(v);
}

function claim(ctx: FilterContext, path: readonly string[]): unknown {
  let v: unknown = ctx.claims;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

const PEER: Record<string, (ctx: FilterContext) => string | undefined> = {
  address: (ctx) => ctx.peer.address || undefined,
  subject: (ctx) => ctx.peer.identity?.subject,
  cn: (ctx) => ctx.peer.identity?.commonName,
  spiffe: (ctx) => ctx.peer.identity?.spiffeId,
  uri: (ctx) => text(ctx.peer.identity?.uri) || undefined,
  dns: (ctx) => text(ctx.peer.identity?.dns) || undefined,
  email: (ctx) => text(ctx.peer.identity?.email) || undefined,
};

/** The names `${…}` may hold, for messages. */
export const TEMPLATE_NAMES = [...Object.keys(PEER).map((k) => `peer.${k}`), 'claims.NAME'];

/** A compiled value, or a message saying what is wrong with it. */
export function compileTemplate(value: string): ValueTemplate | { problem: string } {
  if (!value.includes('${')) return value;
  const parts: Part[] = [];
  const re = /\$\{([^}]*)\}/g;
  let at = 0;
  for (const m of value.matchAll(re)) {
    if (m.index > at) parts.push(value.slice(at, m.index));
    const name = m[1].trim();
    const dot = name.indexOf('.');
    const head = dot < 0 ? name : name.slice(0, dot);
    const rest = dot < 0 ? '' : name.slice(dot + 1);
    if (head === 'peer' && Object.hasOwn(PEER, rest)) parts.push(PEER[rest]);
    else if (head === 'claims' && rest !== '') {
      const path = rest.split('.');
      parts.push((ctx) => text(claim(ctx, path)));
    } else {
      return { problem: `"\${${name}}" is not one of ${TEMPLATE_NAMES.join(', ')}` };
    }
    at = m.index + m[0].length;
  }
  if (at < value.length) parts.push(value.slice(at));
  return joined(parts);
}

/** One function for the parts, shaped for the common cases so most calls run no loop. */
function joined(parts: readonly Part[]): ValueTemplate {
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) {
    const [a, b] = parts;
    if (typeof a === 'string' && typeof b !== 'string') {
      return (ctx) => {
        const v = b(ctx);
        return v === undefined ? undefined : a + v;
      };
    }
    if (typeof a !== 'string' && typeof b === 'string') {
      return (ctx) => {
        const v = a(ctx);
        return v === undefined ? undefined : v + b;
      };
    }
  }
  return (ctx) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (typeof p === 'string') out += p;
      else {
        const v = p(ctx);
        if (v === undefined) return undefined;
        out += v;
      }
    }
    return out;
  };
}
