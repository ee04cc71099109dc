// The entry of a worker process (multi-worker mode): serves calls as the primary directs over
// IPC. Signals go to the primary, which tells every worker when to drain and stop.
import nodeCluster from 'node:cluster';
import { createLogger } from '../common/log.js';
import type { FromWorker, ToWorker } from '../workers/messages.js';
import { WorkerRuntime } from '../workers/worker-runtime.js';

export function runWorker(version: string): void {
  const logger = createLogger({ level: 'info', format: 'auto' }).child({
    worker: nodeCluster.worker?.id,
  });
  const runtime = new WorkerRuntime(
    (message: FromWorker) => process.send?.(message),
    logger,
    version,
    (code) => process.exit(code),
  );
  process.on('message', (message: ToWorker) => {
    if (message.type === 'start' || message.type === 'reload')
      logger.level = message.config.log.level;
    runtime
      .handle(message)
      .catch((err: unknown) => logger.error(`worker: ${(err as Error).message}`));
  });
  process.send?.({ type: 'hello' } satisfies FromWorker);
  // A terminal's Ctrl-C reaches the whole process group; the primary decides.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => undefined);
  // The primary is gone: nobody else will ever stop this worker.
  process.on('disconnect', () => {
    void runtime.handle({ type: 'shutdown', graceMs: 5_000 });
  });
}
