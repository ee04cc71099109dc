// Which SETTINGS values RFC 9113 §6.5.2 allows, shared by the parser (a peer's values) and the
// writer (ours).
import {
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW_SIZE,
  SettingId,
} from './constants.js';

/** Whether `value` is a SETTINGS_MAX_FRAME_SIZE RFC 9113 allows: 16,384 to 2^24 − 1. */
export function isMaxFrameSize(value: number): boolean {
  return Number.isInteger(value) && value >= DEFAULT_MAX_FRAME_SIZE && value <= MAX_MAX_FRAME_SIZE;
}

/**
 * The error code a setting's value calls for (RFC 9113 §6.5.2), or -1 when it is allowed:
 * ENABLE_PUSH other than 0 or 1 and MAX_FRAME_SIZE outside 16,384 to 2^24 − 1 are a
 * PROTOCOL_ERROR, INITIAL_WINDOW_SIZE over 2^31 − 1 a FLOW_CONTROL_ERROR. Any value of an
 * unknown identifier is allowed (it is ignored).
 */
export function settingValueError(id: number, value: number): number {
  switch (id) {
    case SettingId.ENABLE_PUSH:
      return value > 1 ? ErrorCode.PROTOCOL_ERROR : -1;
    case SettingId.INITIAL_WINDOW_SIZE:
      return value > MAX_WINDOW_SIZE ? ErrorCode.FLOW_CONTROL_ERROR : -1;
    case SettingId.MAX_FRAME_SIZE:
      return isMaxFrameSize(value) ? -1 : ErrorCode.PROTOCOL_ERROR;
    default:
      return -1;
  }
}
