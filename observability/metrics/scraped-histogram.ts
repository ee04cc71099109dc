// A histogram whose buckets are counted elsewhere (in plain numbers on the call path) and read
// into a prom-client registry at scrape time. prom-client's own Histogram builds a label hash
// string and objects on every observe(), which the call path must not pay for.
import type { Metric, Registry } from 'prom-client';

/** One labelled series: bucket counts (not cumulative; the last is +Inf) and the sum. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: ArrayLike<number>;
  readonly sum: number;
}

interface SampleValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/**
 * Implements the part of prom-client's metric contract a `Registry` uses (`name`, `help`,
 * `type`, `aggregator`, `get()`, `reset()`), so the registry formats it like its own.
 */
export class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    /** Bucket upper bounds in the unit exposed (`le`), ascending, without +Inf. */
    private readonly upperBounds: readonly number[],
    private readonly read: () => Iterable<HistogramSeries>,
  ) {}

  /** Adds the histogram to `registry`. */
  register(registry: Registry): void {
    // The registry's type names only prom-client's classes; it calls nothing else than the
    // members above on a metric.
    registry.registerMetric(this as unknown as Metric);
  }

  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: SampleValue[];
  }> {
    const values: SampleValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.read()) {
      let cumulative = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        cumulative += series.buckets[i];
        values.push({
          value: cumulative,
          labels: { ...series.labels, le: this.upperBounds[i] },
          metricName: bucketName,
        });
      }
      cumulative += series.buckets[this.upperBounds.length];
      values.push({
        value: cumulative,
        labels: { ...series.labels, le: '+Inf' },
        metricName: bucketName,
      });
      values.push({
        value: series.sum,
        labels: { ...series.labels },
        metricName: `${this.name}_sum`,
      });
      values.push({
        value: cumulative,
        labels: { ...series.labels },
        metricName: `${this.name}_count`,
      });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** The counts belong to their owner; a registry reset leaves them. */
  reset(): void {}
}
