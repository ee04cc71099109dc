// HTTP/2 framing constants from RFC 9113: frame types, flags, error codes, settings identifiers,
// defaults and limits, and the client connection preface.

/** Frame types (RFC 9113 §6, §11.2). Any other type is an extension and is ignored on receipt. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const frameTypeNames: readonly string[] = Object.keys(FrameType);

/** "DATA", "HEADERS", …, or "0x1f" for an extension type. */
export function frameTypeName(type: number): string {
  return frameTypeNames[type] ?? `0x${type.toString(16)}`;
}

/**
 * Frame flags (RFC 9113 §6). Each is defined for some frame types only; a flag a type does not
 * define is ignored on receipt (§4.1) and never sent.
 */
export const Flag = {
  /** DATA, HEADERS: the last frame the sender sends on this stream. */
  END_STREAM: 0x1,
  /** SETTINGS, PING: an acknowledgement. */
  ACK: 0x1,
  /** HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends in this frame. */
  END_HEADERS: 0x4,
  /** DATA, HEADERS, PUSH_PROMISE: a Pad Length octet and that much padding. */
  PADDED: 0x8,
  /** HEADERS: exclusive flag, stream dependency and weight precede the field block. */
  PRIORITY: 0x20,
} as const;

/** Error codes for RST_STREAM and GOAWAY (RFC 9113 §7). Unknown codes may be received. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const errorCodeNames: readonly string[] = Object.keys(ErrorCode);

/** "PROTOCOL_ERROR", …, or "0x1f" for a code RFC 9113 does not define. */
export function errorCodeName(code: number): string {
  return errorCodeNames[code] ?? `0x${code.toString(16)}`;
}

/** SETTINGS parameters (RFC 9113 §6.5.2). Others are ignored on receipt (§6.5.2). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;
export type SettingId = (typeof SettingId)[keyof typeof SettingId];

const settingNames: readonly string[] = ['', ...Object.keys(SettingId)];

/** "MAX_FRAME_SIZE", …, or "0x1f" for an identifier RFC 9113 does not define. */
export function settingName(id: number): string {
  return settingNames[id] || `0x${id.toString(16)}`;
}

/** The highest SETTINGS identifier RFC 9113 defines; higher ones are ignored. */
export const LAST_KNOWN_SETTING = SettingId.MAX_HEADER_LIST_SIZE;

/** Initial values of the settings before the peer's SETTINGS arrive (RFC 9113 §6.5.2). */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;
export const DEFAULT_ENABLE_PUSH = 1;
export const DEFAULT_INITIAL_WINDOW_SIZE = 65_535;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

/** The 9-octet frame header: length (24 bits), type, flags, R + stream id (31 bits). RFC 9113 §4.1. */
export const FRAME_HEADER_LENGTH = 9;
/** The largest SETTINGS_MAX_FRAME_SIZE a peer may announce: 2^24 - 1 (RFC 9113 §6.5.2). */
export const MAX_MAX_FRAME_SIZE = 16_777_215;
/** The largest flow-control window and window increment: 2^31 - 1 (RFC 9113 §6.9.1). */
export const MAX_WINDOW_SIZE = 2_147_483_647;
/** Stream identifiers are 31 bits (RFC 9113 §5.1.1). */
export const MAX_STREAM_ID = 2_147_483_647;
/** Fixed payload lengths (RFC 9113 §6.3, §6.4, §6.7, §6.9) and minimums (§6.8). */
export const PRIORITY_LENGTH = 5;
export const RST_STREAM_LENGTH = 4;
export const SETTINGS_ENTRY_LENGTH = 6;
export const PING_LENGTH = 8;
export const GOAWAY_MIN_LENGTH = 8;
export const WINDOW_UPDATE_LENGTH = 4;

/** What a client sends first, before its SETTINGS frame (RFC 9113 §3.4). */
export const CLIENT_PREFACE: Buffer = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
