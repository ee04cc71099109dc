// The HPACK encoder's view of its tables: per name, the static entries, the dynamic entries
// and how the name is indexed, found with one Map lookup.
import { DynamicTable } from './dynamic-table.js';
import { DEFAULT_SENSITIVE_NAMES, DEFAULT_UNINDEXED_NAMES } from './indexing-policy.js';
import { STATIC_BY_NAME } from './static-table.js';

/** A literal enters the table (incremental indexing). */
export const INDEX = 0;
/** Literal without indexing, unless the name is in no table yet (then once with indexing). */
export const NO_INDEX = 1;
/** Literal never indexed (RFC 7541 §6.2.3), even when a table has the field. */
export const NEVER = 2;
export type Policy = typeof INDEX | typeof NO_INDEX | typeof NEVER;

/** What is fixed about a name for an encoder's whole life. */
interface NameTemplate {
  /** Lowest static index with this name, or 0. */
  readonly staticIndex: number;
  /** Static entries with this name as value -> -(index), or null when none. */
  readonly staticCodes: ReadonlyMap<string, number> | null;
  readonly policy: Policy;
}

function buildTemplates(
  sensitive: Iterable<string>,
  unindexed: Iterable<string>,
): ReadonlyMap<string, NameTemplate> {
  const policies = new Map<string, Policy>();
  for (const name of unindexed) policies.set(name, NO_INDEX);
  for (const name of sensitive) policies.set(name, NEVER);
  const templates = new Map<string, NameTemplate>();
  for (const [name, s] of STATIC_BY_NAME) {
    const staticCodes = new Map<string, number>();
    for (const [value, index] of s.values) staticCodes.set(value, -index);
    templates.set(name, { staticIndex: s.index, staticCodes, policy: policies.get(name) ?? INDEX });
  }
  for (const [name, policy] of policies) {
    if (!templates.has(name)) templates.set(name, { staticIndex: 0, staticCodes: null, policy });
  }
  return templates;
}

let defaultTemplates: ReadonlyMap<string, NameTemplate> | undefined;

/** Templates for these policies; encoders with the default ones share one set. */
export function nameTemplates(
  sensitive: Iterable<string> | undefined,
  unindexed: Iterable<string> | undefined,
): ReadonlyMap<string, NameTemplate> {
  if (sensitive === undefined && unindexed === undefined) {
    return (defaultTemplates ??= buildTemplates(DEFAULT_SENSITIVE_NAMES, DEFAULT_UNINDEXED_NAMES));
  }
  return buildTemplates(sensitive ?? DEFAULT_SENSITIVE_NAMES, unindexed ?? DEFAULT_UNINDEXED_NAMES);
}

const NO_CODES: ReadonlyMap<string, number> = new Map();

/**
 * One name's entries. A value's code is -(static index), or the sequence number of the newest
 * dynamic entry with it, still in the table while that is >= table.first.
 */
export class NameSlot {
  /** value -> code, static and dynamic alike (a value is never in both); shared until written. */
  values: ReadonlyMap<string, number>;
  private ownValues = false;
  /** Sequence number of the newest dynamic entry with this name, valid while dynamicCount > 0. */
  dynamicSeq = 0;
  dynamicCount = 0;
  /**
   * The last value looked up or added and its code: most names repeat one value call after
   * call (content-type, te, user-agent, :authority), and comparing strings is cheaper than a
   * Map lookup. A dynamic code may be stale (evicted): the caller checks it against first.
   */
  lastValue: string | null = null;
  lastCode = 0;
  /** Left the encoder's map: a later entry with this name gets a new slot. */
  dropped = false;

  constructor(
    readonly staticIndex: number,
    staticCodes: ReadonlyMap<string, number> | null,
    readonly policy: Policy,
    /** Kept when its last dynamic entry leaves: a static name or one with a policy. */
    readonly permanent: boolean,
  ) {
    this.values = staticCodes ?? NO_CODES;
  }

  addDynamic(value: string, seq: number): void {
    if (!this.ownValues) {
      this.values = new Map(this.values);
      this.ownValues = true;
    }
    (this.values as Map<string, number>).set(value, seq);
    this.dynamicSeq = seq;
    this.lastValue = value;
    this.lastCode = seq;
  }

  removeDynamic(value: string, seq: number): void {
    // A newer entry with the same value (added after this one was) keeps the map entry.
    if (this.values.get(value) === seq) (this.values as Map<string, number>).delete(value);
  }
}

/** The encoder's dynamic table, with its entries found by name and by name and value. */
export class EncoderTable extends DynamicTable {
  private readonly slots = new Map<string, NameSlot>();

  constructor(
    maxSize: number,
    private readonly templates: ReadonlyMap<string, NameTemplate>,
  ) {
    super(maxSize);
  }

  /**
   * The slot of a name: created on first use for a name with static entries or a policy, and
   * for any name while the dynamic table holds it; undefined otherwise (an unknown name).
   */
  slot(name: string): NameSlot | undefined {
    const slot = this.slots.get(name);
    if (slot !== undefined) return slot;
    const t = this.templates.get(name);
    if (t === undefined) return undefined;
    const created = new NameSlot(t.staticIndex, t.staticCodes, t.policy, true);
    this.slots.set(name, created);
    return created;
  }

  /** Adds an entry; `slot` is the name's slot, or undefined when the name has none yet. */
  addIndexed(name: string, value: string, slot: NameSlot | undefined): void {
    if (slot === undefined) this.slots.set(name, (slot = new NameSlot(0, null, INDEX, false)));
    // Counted before add() evicts, so that evicting the name's last older entry does not drop
    // the slot this entry is about to use.
    slot.dynamicCount++;
    if (!this.add(name, value)) {
      this.evicted(name, '', -1);
      return;
    }
    slot.addDynamic(value, this.next - 1);
  }

  protected override evicted(name: string, value: string, seq: number): void {
    const slot = this.slots.get(name)!;
    slot.dynamicCount--;
    if (seq >= 0) slot.removeDynamic(value, seq);
    if (slot.dynamicCount === 0 && !slot.permanent) {
      this.slots.delete(name);
      slot.dropped = true;
    }
  }
}
