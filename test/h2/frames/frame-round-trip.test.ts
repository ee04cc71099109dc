// Frames written by FrameWriter to a real loopback socket are read back by FrameParser with
// the same fields: every frame type, DATA and field blocks split by the peer's max frame size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Flag, SettingId } from '../../../h2/frames/constants.js';
import { FrameParser } from '../../../h2/frames/frame-parser.js';
import { FrameWriter } from '../../../h2/frames/frame-writer.js';
import { FrameRecorder, type FrameEvent, pattern } from '../../support/frame-recorder.js';
import { eventually } from '../../support/proxy-harness.js';
import { tcpPair } from '../../support/socket-pair.js';

const hex = (b: Buffer) => b.toString('hex');

test('every frame type a client sends is read back by a server parser with the same fields', async (t) => {
  const pair = await tcpPair();
  t.after(() => pair.close());
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'server' });
  pair.server.on('data', (chunk: Buffer) => parser.push(chunk));
  const writer = new FrameWriter(pair.client);

  const settings: Array<[number, number]> = [
    [SettingId.HEADER_TABLE_SIZE, 0],
    [SettingId.ENABLE_PUSH, 0],
    [SettingId.MAX_CONCURRENT_STREAMS, 100],
    [SettingId.INITIAL_WINDOW_SIZE, 2 ** 31 - 1],
    [SettingId.MAX_FRAME_SIZE, 16_777_215],
    [SettingId.MAX_HEADER_LIST_SIZE, 2 ** 32 - 1],
  ];
  const block = pattern(70, 2);
  const bigBlock = pattern(40_000, 3); // HEADERS + 2 CONTINUATION at 16,384
  const small = pattern(15, 4);
  const big = pattern(40_000, 5); // 3 DATA frames, END_STREAM on the last
  const ping = pattern(8, 6);
  writer.writePreface();
  writer.writeSettings(settings);
  writer.writeSettingsAck();
  writer.writeHeaders(1, block, false);
  writer.writeHeaders(3, block, false, 1, 200, true);
  writer.writeData(1, small, false);
  writer.writeData(1, big, true);
  writer.writeHeaders(5, bigBlock, true);
  writer.writePriority(7, 5, 0, false);
  writer.writePriority(9, 2 ** 31 - 1, 255, true);
  writer.writeRstStream(3, ErrorCode.CANCEL);
  writer.writeRstStream(11, 0xffffffff);
  writer.writePing(false, ping);
  writer.writePing(true, ping);
  writer.writeWindowUpdate(0, 2 ** 31 - 1);
  writer.writeWindowUpdate(1, 1);
  writer.writeFrame(0xfa, 0xff, 9, Buffer.from('ext'));
  writer.writeData(9, Buffer.alloc(0), true);
  writer.writeHeaders(13, Buffer.alloc(0), true);
  writer.writeGoaway(2 ** 31 - 1, ErrorCode.ENHANCE_YOUR_CALM, Buffer.from('calm down'));
  writer.writeGoaway(0, ErrorCode.NO_ERROR);

  const expected: FrameEvent[] = [
    { kind: 'settings', ack: false, entries: settings },
    { kind: 'settings', ack: true, entries: [] },
    {
      kind: 'headers',
      streamId: 1,
      block: hex(block),
      endStream: false,
      dependency: -1,
      weight: 0,
      exclusive: false,
    },
    {
      kind: 'headers',
      streamId: 3,
      block: hex(block),
      endStream: false,
      dependency: 1,
      weight: 200,
      exclusive: true,
    },
    { kind: 'data', streamId: 1, data: hex(small), endStream: false, flowLength: 15 },
    {
      kind: 'data',
      streamId: 1,
      data: hex(big.subarray(0, 16_384)),
      endStream: false,
      flowLength: 16_384,
    },
    {
      kind: 'data',
      streamId: 1,
      data: hex(big.subarray(16_384, 32_768)),
      endStream: false,
      flowLength: 16_384,
    },
    {
      kind: 'data',
      streamId: 1,
      data: hex(big.subarray(32_768)),
      endStream: true,
      flowLength: 40_000 - 32_768,
    },
    {
      kind: 'headers',
      streamId: 5,
      block: hex(bigBlock),
      endStream: true,
      dependency: -1,
      weight: 0,
      exclusive: false,
    },
    { kind: 'priority', streamId: 7, dependency: 5, weight: 0, exclusive: false },
    { kind: 'priority', streamId: 9, dependency: 2 ** 31 - 1, weight: 255, exclusive: true },
    { kind: 'rst', streamId: 3, code: ErrorCode.CANCEL },
    { kind: 'rst', streamId: 11, code: 0xffffffff },
    { kind: 'ping', ack: false, opaque: hex(ping) },
    { kind: 'ping', ack: true, opaque: hex(ping) },
    { kind: 'window', streamId: 0, increment: 2 ** 31 - 1 },
    { kind: 'window', streamId: 1, increment: 1 },
    { kind: 'unknown', type: 0xfa, flags: 0xff, streamId: 9, length: 3 },
    { kind: 'data', streamId: 9, data: '', endStream: true, flowLength: 0 },
    {
      kind: 'headers',
      streamId: 13,
      block: '',
      endStream: true,
      dependency: -1,
      weight: 0,
      exclusive: false,
    },
    {
      kind: 'goaway',
      lastStreamId: 2 ** 31 - 1,
      code: ErrorCode.ENHANCE_YOUR_CALM,
      debug: hex(Buffer.from('calm down')),
    },
    { kind: 'goaway', lastStreamId: 0, code: ErrorCode.NO_ERROR, debug: '' },
  ];
  await eventually(() => recorder.events.length >= expected.length, 10_000, 'all frames');
  assert.deepEqual(recorder.events, expected);
  assert.equal(parser.stopped, false);
});

test('a server writes PUSH_PROMISE (with CONTINUATION when long) and a client parser reads it', async (t) => {
  const pair = await tcpPair();
  t.after(() => pair.close());
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client' });
  pair.client.on('data', (chunk: Buffer) => parser.push(chunk));
  const writer = new FrameWriter(pair.server, { flush: 'tick' });
  const short = pattern(30, 7);
  const long = pattern(20_000, 8);
  writer.writeSettings([]);
  writer.writePushPromise(1, 2, short);
  writer.writePushPromise(1, 4, long);
  writer.writePushPromise(3, 2 ** 31 - 1, Buffer.alloc(0));
  const expected: FrameEvent[] = [
    { kind: 'settings', ack: false, entries: [] },
    { kind: 'push', streamId: 1, promised: 2, block: hex(short) },
    { kind: 'push', streamId: 1, promised: 4, block: hex(long) },
    { kind: 'push', streamId: 3, promised: 2 ** 31 - 1, block: '' },
  ];
  await eventually(() => recorder.events.length >= expected.length, 10_000, 'all frames');
  assert.deepEqual(recorder.events, expected);
});

test('the writer splits by the peer max frame size it is given, and the parser accepts it when raised', async (t) => {
  const pair = await tcpPair();
  t.after(() => pair.close());
  const recorder = new FrameRecorder();
  const parser = new FrameParser(recorder, { role: 'client', maxFrameSize: 65_536 });
  pair.client.on('data', (chunk: Buffer) => parser.push(chunk));
  const writer = new FrameWriter(pair.server, { maxFrameSize: 65_536 });
  const body = pattern(100_000, 9);
  writer.writeSettings([[SettingId.MAX_FRAME_SIZE, 65_536]]);
  writer.writeData(1, body, true);
  await eventually(() => recorder.events.length >= 3, 10_000, 'two DATA frames');
  const data = recorder.events.filter((e) => e.kind === 'data');
  assert.deepEqual(
    data.map((e) => [e.flowLength, e.endStream]),
    [
      [65_536, false],
      [100_000 - 65_536, true],
    ],
  );
  assert.equal(data.map((e) => e.data).join(''), hex(body));
  assert.equal(writer.maxFrameSize, 65_536);
});

test('flags a frame type does not define are not sent, and are ignored on receipt', async (t) => {
  const pair = await tcpPair();
  t.after(() => pair.close());
  const seen: Buffer[] = [];
  pair.client.on('data', (chunk: Buffer) => seen.push(chunk));
  const writer = new FrameWriter(pair.server, { flush: 'manual' });
  writer.writeSettings([]);
  writer.writeData(1, Buffer.from('x'), false);
  writer.writeWindowUpdate(1, 5);
  writer.writeFrame(0x0, 0xff & ~Flag.PADDED, 3, Buffer.from('y')); // every DATA flag but PADDED
  writer.flush();
  await eventually(() => Buffer.concat(seen).length >= 9 + 10 + 13 + 10, 10_000, 'the frames');
  const bytes = Buffer.concat(seen);
  assert.equal(bytes[9 + 4], 0, 'DATA without END_STREAM has no flags');
  assert.equal(bytes[9 + 10 + 4], 0, 'WINDOW_UPDATE has no flags');
  const recorder = new FrameRecorder();
  new FrameParser(recorder, { role: 'client' }).push(bytes);
  assert.deepEqual(recorder.events.at(-1), {
    kind: 'data',
    streamId: 3,
    data: hex(Buffer.from('y')),
    endStream: true,
    flowLength: 1,
  });
});
