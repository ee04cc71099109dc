// Decodes one block into plain arrays, for assertions.
import type { HpackDecoder } from '../../../h2/hpack/decoder.js';
import type { HpackError } from '../../../h2/hpack/errors.js';
import { HeaderList } from '../../../h2/hpack/header-list.js';

export interface DecodedBlock {
  /** name, value, ... */
  readonly out: string[];
  /** Positions in `out` of never-indexed fields' names. */
  readonly never: number[];
  readonly size: number;
  readonly error: HpackError | null;
}

export function decodeBlock(
  decoder: HpackDecoder,
  block: Buffer,
  start = 0,
  end = block.length,
): DecodedBlock {
  const list = new HeaderList();
  const error = decoder.decode(block, start, end, list);
  return { out: list.toArray(), never: [...list.neverIndexed], size: list.size, error };
}
