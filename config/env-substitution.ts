// `${VAR}` and `${VAR:-default}` in config values, taken from the environment; `$${` writes a
// literal `${`. `${peer.…}` and `${claims.…}` are left for the headers filter.

export type Env = Readonly<Record<string, string | undefined>>;

export type SubstitutionResult =
  /** `substituted` is false when the text held no expression (escapes aside). */
  | { readonly value: string; readonly substituted: boolean }
  /** Every problem in the text: unset variables, malformed expressions. */
  | { readonly errors: readonly string[] };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces each `${NAME}` with the variable's value and each `${NAME:-fallback}` with the
 * value, or `fallback` when the variable is unset or empty (as in the shell). A `$` not followed
 * by `{` stays as it is. Values are inserted verbatim: they are never substituted again.
 */
export function substituteEnv(text: string, env: Env): SubstitutionResult {
  if (!text.includes('${')) return { value: text, substituted: false };
  const errors: string[] = [];
  let out = '';
  let substituted = false;
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) break;
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close < 0) {
      errors.push(`unterminated "${text.slice(dollar)}" (write $\${ for a literal \${)`);
      i = text.length;
      break;
    }
    const body = text.slice(dollar + 2, close);
    // `${peer.…}` and `${claims.…}` are filled per call by the headers filter, not from the
    // environment (a variable name has no dot, so nothing is shadowed).
    if (body.startsWith('peer.') || body.startsWith('claims.')) {
      out += text.slice(dollar, close + 1);
      i = close + 1;
      continue;
    }
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    i = close + 1;
    if (!NAME.test(name)) {
      errors.push(
        `"\${${body}}" is not \${NAME} or \${NAME:-default} (write $\${ for a literal \${)`,
      );
      continue;
    }
    substituted = true;
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (sep >= 0) {
      out += value === undefined || value === '' ? body.slice(sep + 2) : value;
    } else if (value === undefined) {
      errors.push(
        `environment variable ${name} is not set (write \${${name}:-default} for a fallback)`,
      );
    } else {
      out += value;
    }
  }
  if (errors.length > 0) return { errors };
  return { value: out + text.slice(i), substituted };
}

/**
 * What a plain (unquoted) YAML scalar written as `text` would have been: null, a boolean, a
 * number, or the string itself — so `port: ${PORT}` yields a number, as `port: 8080` does. Only
 * scalars: a value can never turn into a list or mapping.
 */
export function plainScalarValue(text: string): string | number | boolean | null {
  const t = text.trim();
  if (t === '' || t === '~' || /^(?:null|Null|NULL)$/.test(t)) return null;
  if (/^(?:true|True|TRUE)$/.test(t)) return true;
  if (/^(?:false|False|FALSE)$/.test(t)) return false;
  if (/^[-+]?[0-9]+$/.test(t)) return Number(t);
  if (/^0o[0-7]+$/.test(t)) return parseInt(t.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(t)) return Number(t);
  return text;
}
