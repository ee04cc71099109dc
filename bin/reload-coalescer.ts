// Runs config reloads one at a time and folds the triggers that arrive during one (the file
// watch, SIGHUP, POST /reload: an editor's save can fire all three) into a single next run,
// which reads the file as it is then. Each caller gets the result of the run it joined.

/** What one run is for. */
export interface ReloadRequest {
  /** Why it runs, in order of arrival: "SIGHUP", "admin API", "file changed". */
  readonly triggers: readonly string[];
  /** Only if the file changed since it was last read: every trigger was the file watch. */
  readonly onlyIfChanged: boolean;
}

interface Waiting<T> {
  triggers: string[];
  onlyIfChanged: boolean;
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (err: Error) => void;
}

export class ReloadCoalescer<T> {
  private running = false;
  private next: Waiting<T> | undefined;

  /** `run` is never called again before the promise it returned settles. */
  constructor(private readonly run: (request: ReloadRequest) => Promise<T>) {}

  /**
   * A run for `trigger`: starts now when none is in progress; otherwise joins the one that
   * follows it (created by the first trigger that finds one in progress).
   */
  request(trigger: string, onlyIfChanged = false): Promise<T> {
    let waiting = this.next;
    if (waiting === undefined) {
      let resolve!: (value: T) => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      waiting = { triggers: [], onlyIfChanged: true, promise, resolve, reject };
      this.next = waiting;
    }
    waiting.triggers.push(trigger);
    waiting.onlyIfChanged &&= onlyIfChanged;
    if (!this.running) this.startNext();
    return waiting.promise;
  }

  private startNext(): void {
    const waiting = this.next;
    if (waiting === undefined) return;
    this.next = undefined;
    this.running = true;
    let result: Promise<T>;
    try {
      result = this.run({ triggers: waiting.triggers, onlyIfChanged: waiting.onlyIfChanged });
    } catch (err) {
      // A run that throws rather than rejects is answered the same way.
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    void result.then(waiting.resolve, waiting.reject).finally(() => {
      this.running = false;
      this.startNext();
    });
  }
}
