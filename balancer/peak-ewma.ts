// A peak-sensitive, time-decaying latency average per endpoint (the "peak EWMA" of Finagle
// and Linkerd), kept for every host and used by least_loaded to score them.

/**
 * The estimate jumps to any sample above it (so one slow answer is noticed at once), moves
 * toward samples below it with a weight that grows with the time since the last sample, and
 * decays toward zero while no sample arrives. The decay is what makes a penalised endpoint
 * look cheap again after a while, so it gets a probe call and can show that it recovered.
 *
 * All times are on one clock in milliseconds; `decayMs` is the time constant τ (after τ
 * without samples an estimate is down to 1/e of its value). A sample that comes after
 * `staleMs` without any replaces the estimate: an old estimate says nothing about now (a host
 * that hung and recovered would otherwise carry the hang's latency for minutes).
 */
export class PeakEwma {
  /** The estimate as of `at`, in ms; 0 before the first sample. */
  private value = 0;
  private at = 0;
  private count = 0;
  private seeded = false;

  /** True once there is an estimate: a sample arrived or `seed` set one. */
  get known(): boolean {
    return this.count > 0 || this.seeded;
  }

  /** Clock time of the last sample or seed. */
  get updatedAt(): number {
    return this.at;
  }

  /** Samples observed so far. */
  get samples(): number {
    return this.count;
  }

  /** The estimate as of the last sample (no idle decay): what the admin page shows. */
  get lastEstimate(): number {
    return this.value;
  }

  /** The estimate decayed to `now`: what least_loaded compares. Allocation-free. */
  current(now: number, decayMs: number): number {
    const value = this.value;
    if (value === 0 || now <= this.at) return value;
    return value * Math.exp((this.at - now) / decayMs);
  }

  observe(sampleMs: number, now: number, decayMs: number, staleMs = Infinity): void {
    const sample = sampleMs > 0 ? sampleMs : 0;
    if (this.count++ === 0 || now - this.at >= staleMs) {
      this.value = sample;
      this.at = now;
      return;
    }
    const elapsed = now > this.at ? now - this.at : 0;
    const w = Math.exp(-elapsed / decayMs);
    const decayed = this.value * w;
    // A sample above the (decayed) estimate replaces it: the peak. One below it is blended
    // in by how long we went without news, so a burst of fast samples right after a slow one
    // barely moves the estimate, while a fast answer after a long quiet period counts a lot.
    this.value = sample >= decayed ? sample : decayed * w + sample * (1 - w);
    this.at = now;
  }

  /**
   * Starts the estimate over at `valueMs` as of `now` (a new or returning endpoint gets the
   * average of the others rather than a zero that would draw every call to it).
   */
  seed(valueMs: number, now: number): void {
    this.value = valueMs > 0 ? valueMs : 0;
    this.at = now;
    this.seeded = true;
  }
}
