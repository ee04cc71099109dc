// The messages between the primary process of a multi-worker proxy and its workers. The
// primary runs the control plane (resolvers, health checks, config reloads, the admin
// listener); workers serve calls. Sent over node:cluster IPC with structured clone.
import type { HealthVerdict, PreloadedFiles } from '../proxy/switchyard.js';
import type { Config } from '../config/types.js';
import type { EndpointSet } from '../resolver/endpoint.js';
import type { ResolutionErrorCode } from '../resolver/errors.js';

/**
 * Which resolver feed serves each cluster, by name. A cluster whose config changes gets a new
 * feed, so events of its old target never reach the new one.
 */
export type FeedMap = Readonly<Record<string, number>>;

/** What the admin listener asks each worker for. */
export type WorkerQuery = 'metrics' | 'view' | 'readiness';

export type ToWorker =
  | { readonly type: 'start'; readonly config: Config; readonly feeds: FeedMap }
  | {
      readonly type: 'reload';
      readonly id: number;
      readonly config: Config;
      readonly feeds: FeedMap;
      /** Certificate files the primary read for this config; the rest the worker reads. */
      readonly files?: PreloadedFiles;
    }
  | { readonly type: 'endpoints'; readonly feed: number; readonly set: EndpointSet }
  | {
      readonly type: 'resolver-error';
      readonly feed: number;
      readonly code: ResolutionErrorCode;
      readonly target: string;
      readonly message: string;
    }
  | { readonly type: 'health'; readonly feed: number; readonly verdicts: readonly HealthVerdict[] }
  | { readonly type: 'query'; readonly id: number; readonly what: WorkerQuery }
  | { readonly type: 'shutdown'; readonly graceMs: number };

export type FromWorker =
  /** The worker listens for messages now (IPC messages sent before that are lost). */
  | { readonly type: 'hello' }
  | { readonly type: 'started' }
  | { readonly type: 'start-failed'; readonly message: string; readonly code: string | undefined }
  | { readonly type: 'reloaded'; readonly id: number }
  | { readonly type: 'reload-failed'; readonly id: number; readonly message: string }
  | { readonly type: 'refresh'; readonly feed: number }
  | { readonly type: 'answer'; readonly id: number; readonly value: unknown };

/** The environment variable that marks a process as a worker. */
export const WORKER_ENV = 'SWITCHYARD_WORKER';
