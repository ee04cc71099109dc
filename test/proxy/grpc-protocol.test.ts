// The small protocol pieces: grpc-timeout, status-message encoding, transport-to-status mapping.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { DEFAULT_TIMEOUTS } from '../../config/defaults.js';
import {
  Status,
  encodeGrpcMessage,
  statusFromHttpStatus,
  statusFromRstCode,
  statusName,
} from '../../grpc/grpc-status.js';
import { effectiveTimeout, formatGrpcTimeout, parseGrpcTimeout } from '../../grpc/grpc-timeout.js';

describe('grpc-timeout', () => {
  it('parses every unit', () => {
    assert.equal(parseGrpcTimeout('2H'), 7_200_000);
    assert.equal(parseGrpcTimeout('3M'), 180_000);
    assert.equal(parseGrpcTimeout('5S'), 5_000);
    assert.equal(parseGrpcTimeout('250m'), 250);
    assert.equal(parseGrpcTimeout('1500u'), 1.5);
    assert.equal(parseGrpcTimeout('2000000n'), 2);
    assert.equal(parseGrpcTimeout('99999999S'), 99_999_999_000);
  });

  it('rejects malformed values', () => {
    for (const bad of ['', 'S', '5', '5s', '-5S', '123456789S', '1.5S', ' 5S', undefined]) {
      assert.equal(parseGrpcTimeout(bad), undefined, String(bad));
    }
    assert.equal(parseGrpcTimeout(['5S', '6S']), undefined);
  });

  it('formats within eight digits, rounding up', () => {
    assert.equal(formatGrpcTimeout(250.2), '251m');
    assert.equal(formatGrpcTimeout(-3), '0m');
    assert.equal(formatGrpcTimeout(99_999_999), '99999999m');
    assert.equal(formatGrpcTimeout(100_000_000), '100000S');
    assert.equal(formatGrpcTimeout(1e15), '99999999M');
    for (const ms of [1, 999, 12_345, 7_200_000])
      assert.ok(parseGrpcTimeout(formatGrpcTimeout(ms))! >= ms);
  });

  it("applies the cluster's default and maximum", () => {
    const t = { ...DEFAULT_TIMEOUTS, defaultMs: 1_000, maxMs: 5_000 };
    assert.equal(effectiveTimeout(undefined, t), 1_000);
    assert.equal(effectiveTimeout(2_000, t), 2_000);
    assert.equal(effectiveTimeout(9_000, t), 5_000);
    assert.equal(effectiveTimeout(undefined, DEFAULT_TIMEOUTS), undefined);
    assert.equal(effectiveTimeout(undefined, { ...DEFAULT_TIMEOUTS, maxMs: 300 }), 300);
  });
});

describe('status mapping', () => {
  it('percent-encodes grpc-message as the spec asks', () => {
    assert.equal(encodeGrpcMessage('plain text'), 'plain text');
    assert.equal(encodeGrpcMessage('100%'), '100%25');
    assert.equal(encodeGrpcMessage('Grüße'), 'Gr%C3%BC%C3%9Fe');
    assert.equal(encodeGrpcMessage('a\nb'), 'a%0Ab');
  });

  it('maps RST_STREAM codes as gRPC does', () => {
    assert.equal(statusFromRstCode(http2.constants.NGHTTP2_REFUSED_STREAM), Status.UNAVAILABLE);
    assert.equal(statusFromRstCode(http2.constants.NGHTTP2_CANCEL), Status.CANCELLED);
    assert.equal(
      statusFromRstCode(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM),
      Status.RESOURCE_EXHAUSTED,
    );
    assert.equal(
      statusFromRstCode(http2.constants.NGHTTP2_INADEQUATE_SECURITY),
      Status.PERMISSION_DENIED,
    );
    assert.equal(statusFromRstCode(http2.constants.NGHTTP2_PROTOCOL_ERROR), Status.INTERNAL);
  });

  it('maps HTTP statuses as gRPC does', () => {
    assert.equal(statusFromHttpStatus(401), Status.UNAUTHENTICATED);
    assert.equal(statusFromHttpStatus(403), Status.PERMISSION_DENIED);
    assert.equal(statusFromHttpStatus(404), Status.UNIMPLEMENTED);
    assert.equal(statusFromHttpStatus(503), Status.UNAVAILABLE);
    assert.equal(statusFromHttpStatus(500), Status.UNKNOWN);
    assert.equal(statusName(14), 'UNAVAILABLE');
    assert.equal(statusName(99), 'STATUS_99');
  });
});
