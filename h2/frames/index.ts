// The HTTP/2 frame layer: constants, parser, writer and their errors (RFC 9113 §4–§6).
export * from './constants.js';
export * from './errors.js';
export type { FrameHandler } from './frame-handler.js';
export * from './frame-parser.js';
export * from './frame-writer.js';
export * from './setting-values.js';
