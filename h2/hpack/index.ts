// HPACK (RFC 7541) for switchyard's HTTP/2 layer: one decoder and one encoder per connection.
export { ByteWriter, type HpackOutput } from './byte-writer.js';
export {
  DEFAULT_MAX_HEADER_LIST_SIZE,
  DEFAULT_TABLE_SIZE,
  HpackDecoder,
  type HpackDecoderOptions,
} from './decoder.js';
export { DynamicTable, ENTRY_OVERHEAD } from './dynamic-table.js';
export { HpackEncoder, type HpackEncoderOptions } from './encoder.js';
export { HpackError, type HpackErrorCode } from './errors.js';
export { HeaderList } from './header-list.js';
export { DEFAULT_SENSITIVE_NAMES, DEFAULT_UNINDEXED_NAMES } from './indexing-policy.js';
