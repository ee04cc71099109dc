// Messages as the grpc-js adapters show them to message hooks. grpc-js hands interceptors the
// application's objects, never bytes: `decoded` is the object itself, and `bytes` is made on
// first read with the method's serializer. grpc-js gives an interceptor only one direction's
// serializer (a client's requests, a server's responses); the other comes from the service
// definitions passed in the adapter's `services` option.
import type * as grpcJs from '@grpc/grpc-js';
import type { FilterMessage } from './filter.js';

export type Serialize = (value: unknown) => Buffer;

/** The serializers a service definition holds, by method path. */
export interface MethodSerializers {
  readonly request: Serialize;
  readonly response: Serialize;
}

export function serializersOf(
  services: readonly grpcJs.ServiceDefinition[] | undefined,
): ReadonlyMap<string, MethodSerializers> {
  const out = new Map<string, MethodSerializers>();
  for (const service of services ?? []) {
    for (const method of Object.values(service)) {
      out.set(method.path, {
        request: method.requestSerialize as Serialize,
        response: method.responseSerialize as Serialize,
      });
    }
  }
  return out;
}

export class InterceptedMessage implements FilterMessage {
  readonly compressed = false;
  private serialized: Uint8Array | undefined;

  constructor(
    private readonly value: unknown,
    readonly index: number,
    readonly decoded: unknown,
    private readonly serialize: Serialize | undefined,
    /** `request` or `response` message of `method`, for the error below. */
    private readonly what: string,
  ) {}

  get bytes(): Uint8Array {
    if (this.serialized === undefined) {
      if (this.serialize === undefined) {
        throw new Error(
          `no serializer for the ${this.what}: give the interceptor its service definition in \`services\``,
        );
      }
      this.serialized = this.serialize(this.value);
    }
    return this.serialized;
  }
}
