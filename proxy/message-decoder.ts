// Decodes one method's messages for filters that ask for them (`messages: 'decoded'`), with the
// descriptors the gateway and the reflection server use (`descriptors:` .proto files, or what
// reflection fetched): binary to a @bufbuild/protobuf message, then to its proto3 JSON form,
// so a filter sees plain data that looks the same whichever way the descriptors came.
import { fromBinary, toJson, type DescMessage, type Registry } from '@bufbuild/protobuf';
import type { DescriptorPool } from '../gateway/descriptor-pool.js';

/** The descriptor set in use now (it changes when reflection fetches a new one). */
export type DescriptorLookup = () => DescriptorPool | undefined;

export class MessageDecoder {
  private constructor(
    private readonly input: DescMessage,
    private readonly output: DescMessage,
    private readonly registry: Registry,
  ) {}

  /**
   * The decoder for `path` (`/pkg.Service/Method`), or undefined when the pool does not know
   * the method: its filters then get bytes only.
   */
  static forMethod(pool: DescriptorPool | undefined, path: string): MessageDecoder | undefined {
    if (pool === undefined) return undefined;
    const slash = path.lastIndexOf('/');
    if (slash <= 0) return undefined;
    const method = pool.methods.get(`${path.slice(1, slash)}.${path.slice(slash + 1)}`);
    if (method === undefined) return undefined;
    return new MessageDecoder(method.input, method.output, pool.registry);
  }

  /** A request message as proto3 JSON; undefined when the bytes do not parse as one. */
  request(bytes: Uint8Array): unknown {
    return this.decode(this.input, bytes);
  }

  /** A response message as proto3 JSON; undefined when the bytes do not parse as one. */
  response(bytes: Uint8Array): unknown {
    return this.decode(this.output, bytes);
  }

  private decode(desc: DescMessage, bytes: Uint8Array): unknown {
    try {
      return toJson(desc, fromBinary(desc, bytes), { registry: this.registry });
    } catch {
      // Not this method's message (a backend on another version of the schema): the hook
      // still gets the bytes, and `decoded` says nothing rather than something wrong.
      return undefined;
    }
  }
}
