// FilterMetadata over grpc-js `Metadata`: `-bin` values read as base64 text (as on the wire,
// and as the proxy sees them) and written from it.
import type * as grpcJs from '@grpc/grpc-js';
import type { FilterMetadata } from './filter.js';

function isBinary(name: string): boolean {
  return name.endsWith('-bin');
}

export class GrpcJsMetadata implements FilterMetadata {
  constructor(readonly metadata: grpcJs.Metadata) {}

  get(name: string): string | undefined {
    const v = this.metadata.get(name)[0];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : v.toString('base64');
  }

  set(name: string, value: string): void {
    this.metadata.set(name, isBinary(name) ? Buffer.from(value, 'base64') : value);
  }

  add(name: string, value: string): void {
    this.metadata.add(name, isBinary(name) ? Buffer.from(value, 'base64') : value);
  }

  remove(name: string): void {
    this.metadata.remove(name);
  }

  names(): string[] {
    return Object.keys(this.metadata.getMap());
  }
}
