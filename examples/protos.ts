// Where the example .proto files live at run time, and how the examples load them.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// tsc does not copy .proto files: compiled code runs from <repo>/dist/examples/protos.js while
// the files stay in <repo>/examples/protos, so step out of dist/ when we are inside it.
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = basename(dirname(here)) === 'dist' ? dirname(dirname(here)) : dirname(here);

/** Absolute path of the folder holding the example .proto files. */
export const PROTOS_DIR = join(repoRoot, 'examples', 'protos');
/** Absolute path of `helloworld.proto` (package `helloworld`, service `Greeter`). */
export const HELLOWORLD_PROTO = join(PROTOS_DIR, 'helloworld.proto');
/** Absolute path of `route_guide.proto` (package `routeguide`, service `RouteGuide`). */
export const ROUTE_GUIDE_PROTO = join(PROTOS_DIR, 'route_guide.proto');

/**
 * proto-loader options shared by the examples: camelCase field names in JavaScript, 64-bit
 * integers as numbers, and defaults filled in so handlers never see `undefined` scalars.
 */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const cache = new Map<string, grpc.ServiceClientConstructor>();

/**
 * Loads `protoPath` once and returns the grpc-js client constructor of `serviceName`
 * (fully qualified, e.g. `routeguide.RouteGuide`). Its `service` property is the service
 * definition a server passes to `addService`. Throws if the file or the service is missing.
 */
export function loadServiceClient(
  protoPath: string,
  serviceName: string,
): grpc.ServiceClientConstructor {
  const key = `${protoPath}#${serviceName}`;
  const cached = cache.get(key);
  if (cached) return cached;
  if (!existsSync(protoPath)) {
    throw new Error(`proto file ${protoPath} is missing (examples/protos must sit beside dist/)`);
  }
  const definition = protoLoader.loadSync(protoPath, PROTO_LOADER_OPTIONS);
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const part of serviceName.split('.')) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof node !== 'function' || !('service' in node)) {
    throw new Error(`service ${serviceName} is not defined in ${protoPath}`);
  }
  const constructor = node as grpc.ServiceClientConstructor;
  cache.set(key, constructor);
  return constructor;
}
