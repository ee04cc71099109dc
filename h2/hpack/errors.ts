// Typed HPACK decoding errors with stable codes, and which of them the connection survives.

export type HpackErrorCode =
  /** Index 0, or an index past the static and dynamic tables (RFC 7541 §2.3.3, §6.1). */
  | 'SWY_ERR_H2_HPACK_BAD_INDEX'
  /** An integer above 2^32 - 1, or encoded in more bytes than such a value needs (§5.1). */
  | 'SWY_ERR_H2_HPACK_INTEGER_OVERFLOW'
  /** The block ends inside an integer or a string (§5.1, §5.2). */
  | 'SWY_ERR_H2_HPACK_TRUNCATED'
  /** Huffman data with EOS in it, padding over 7 bits, or padding that is not all ones (§5.2). */
  | 'SWY_ERR_H2_HPACK_BAD_HUFFMAN'
  /**
   * A dynamic table size update above the advertised SETTINGS_HEADER_TABLE_SIZE, after the
   * first field of a block, or missing after that setting was lowered (§4.2, §6.3).
   */
  | 'SWY_ERR_H2_HPACK_BAD_TABLE_SIZE_UPDATE'
  /**
   * The decoded list is larger than SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2). The only
   * code the connection survives: the decoder read the whole block and its table is in step
   * with the peer's, so the connection layer may refuse just the stream (HTTP 431, §10.5.1).
   */
  | 'SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE';

/**
 * A header block that could not be decoded. Every code but SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE
 * leaves the decoder's table out of step with the peer's encoder: a connection error of type
 * COMPRESSION_ERROR (RFC 9113 §4.3), after which the decoder must not be used again.
 */
export class HpackError extends Error {
  override readonly name = 'HpackError';
  constructor(
    readonly code: HpackErrorCode,
    message: string,
    /** Byte offset in the block where the bad representation starts. */
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset} of the header block)`);
  }

  /** False only for a list over the size limit: a stream error, the connection goes on. */
  get connectionError(): boolean {
    return this.code !== 'SWY_ERR_H2_HPACK_HEADER_LIST_TOO_LARGE';
  }
}
