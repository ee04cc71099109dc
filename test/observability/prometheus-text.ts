// A strict parser for the Prometheus text exposition format (version 0.0.4), so tests check
// that /metrics is valid and read its numbers. prom-client writes the format but cannot read it.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: string): number {
  if (/^[+]?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`bad sample value "${text}" in: ${line}`);
  }
  return Number(text);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = line.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`duplicate label "${name}" in: ${line}`);
    if (line[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        const next = line[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape \\${next} in: ${line}`);
      } else {
        value += line[j];
      }
    }
    if (j >= line.length) throw new Error(`unterminated label value in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected , or } in: ${line}`);
  }
  return { labels, end: i + 1 };
}

/** The family a sample belongs to: its own name, or the histogram/summary it is a part of. */
function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const own = families.get(name);
  if (own) return own;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return undefined;
  const base = families.get(m[1]);
  if (base && (base.type === 'histogram' || (base.type === 'summary' && m[2] !== 'bucket'))) {
    return base;
  }
  return undefined;
}

/**
 * Parses a whole exposition. Throws on anything malformed: a bad line, a sample without a
 * `# TYPE` before it, a negative counter, or a histogram whose buckets are not cumulative or
 * whose +Inf bucket differs from its count.
 */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (kind === 'HELP') {
        helps.set(name, rest);
      } else {
        if (!TYPES.has(rest)) throw new Error(`bad type in: ${line}`);
        if (families.has(name)) throw new Error(`second TYPE for ${name}`);
        families.set(name, { name, type: rest, help: helps.get(name) ?? '', samples: [] });
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`bad sample line: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith('{')) {
      const parsed = parseLabels(line, nameEnd);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || parts[0] === '') {
      throw new Error(`bad sample line: ${line}`);
    }
    const value = parseValue(parts[0], line);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample ${name} has no # TYPE before it`);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`negative counter: ${line}`);
    family.samples.push({ name, labels, value });
  }
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith('_count')) {
      g.count = s.value;
    }
  }
  for (const [key, g] of groups) {
    for (let i = 1; i < g.buckets.length; i++) {
      if (g.buckets[i][0] <= g.buckets[i - 1][0] || g.buckets[i][1] < g.buckets[i - 1][1]) {
        throw new Error(`${family.name}${key}: buckets not ascending and cumulative`);
      }
    }
    const inf = g.buckets[g.buckets.length - 1];
    if (!inf || inf[0] !== Infinity || inf[1] !== g.count) {
      throw new Error(`${family.name}${key}: +Inf bucket does not equal _count`);
    }
  }
}

/**
 * The value of the one sample named `name` whose labels include `labels`; undefined when there
 * is none, an error when several match.
 */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const matches = samplesOf(families, name).filter((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matches.length > 1) {
    throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return matches[0]?.value;
}

/** Every sample named `name` (a histogram's `_bucket` etc. included). */
export function samplesOf(families: Map<string, MetricFamily>, name: string): Sample[] {
  const family = familyOf(name, families);
  return family ? family.samples.filter((s) => s.name === name) : [];
}
