// Decisions filters make, counted in plain numbers that the metrics registry reads at scrape
// time (switchyard_filter_decisions_total): a counter is one object made at config load, so
// counting costs one increment per call.

/** One series: `value` is the running total. */
export interface DecisionCounter {
  value: number;
}

export interface DecisionSeries {
  readonly filter: string;
  /** `route:NAME` or `listener:NAME`. */
  readonly scope: string;
  readonly decision: string;
  readonly counter: DecisionCounter;
}

export class FilterDecisions {
  private readonly series = new Map<string, DecisionSeries>();

  /** The counter for one filter, scope and decision; the same object each time it is asked. */
  counter(filter: string, scope: string, decision: string): DecisionCounter {
    const key = `${filter}\u0000${scope}\u0000${decision}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = { filter, scope, decision, counter: { value: 0 } };
      this.series.set(key, s);
    }
    return s.counter;
  }

  all(): IterableIterator<DecisionSeries> {
    return this.series.values();
  }
}
