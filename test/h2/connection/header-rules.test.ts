// Header list rules of RFC 9113 §8.1–§8.3 as the connection applies them to received lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHeaderList, type HeaderFacts, HeaderKind } from '../../../h2/connection/index.js';
import { HeaderList } from '../../../h2/hpack/index.js';

function list(fields: string[]): HeaderList {
  const l = new HeaderList();
  l.fields.push(...fields);
  l.length = fields.length;
  return l;
}

const facts: HeaderFacts = { contentLength: -1, status: 0, head: false };
const REQ = [':method', 'POST', ':scheme', 'https', ':path', '/a', ':authority', 'x'];

function check(fields: string[], kind: HeaderKind = HeaderKind.REQUEST): string | null {
  return checkHeaderList(list(fields), kind, facts);
}

test('well-formed requests, responses and trailers pass', () => {
  assert.equal(check([...REQ, 'te', 'trailers', 'x-a', '1', 'x-a', '2']), null);
  assert.equal(check([':method', 'CONNECT', ':authority', 'h:443']), null);
  assert.equal(check([':status', '200', 'content-length', '5'], HeaderKind.RESPONSE), null);
  assert.equal(facts.status, 200);
  assert.equal(facts.contentLength, 5);
  assert.equal(check(['grpc-status', '0'], HeaderKind.TRAILERS), null);
});

test('pseudo-headers: order, duplicates, required set, kind', () => {
  assert.match(check(['x-a', '1', ...REQ])!, /after a regular field/);
  assert.match(check([...REQ, ':path', '/b'].slice(0, 8).concat([':method', 'GET']))!, /repeated/);
  assert.match(check([':method', 'GET', ':scheme', 'http'])!, /without :scheme or :path/);
  assert.match(check([':scheme', 'http', ':path', '/'])!, /without :method/);
  assert.match(check([':method', 'CONNECT', ':authority', 'h', ':path', '/'])!, /CONNECT/);
  assert.match(check([':method', 'GET', ':scheme', 'http', ':path', ''])!, /empty :path/);
  assert.match(check([...REQ, ':status', '200'].slice(0, 10))!, /:status in a request/);
  assert.match(check([':status', '200', ':path', '/'], HeaderKind.RESPONSE)!, /in a response/);
  assert.match(check(['x', '1'], HeaderKind.RESPONSE)!, /without :status/);
  assert.match(check([':status', '20x'], HeaderKind.RESPONSE)!, /3 digits/);
  assert.match(check([':status', '200'], HeaderKind.TRAILERS)!, /in trailers/);
  assert.match(check([':foo', 'x', ...REQ])!, /unknown pseudo-header/);
});

test('names: lower case tokens only; values: no CR, LF, NUL or edge whitespace', () => {
  assert.match(check([...REQ, 'X-Upper', '1'])!, /lower-case/);
  assert.match(check([...REQ, 'a b', '1'])!, /lower-case/);
  assert.match(check([...REQ, 'x', 'a\r\nb'])!, /invalid characters/);
  assert.match(check([...REQ, 'x', ' a'])!, /invalid characters/);
  assert.match(check([...REQ, 'x', 'a\0'])!, /invalid characters/);
  assert.match(check([...REQ, '', 'a'])!, /empty field name/);
});

test('connection-specific fields are refused; te only "trailers"', () => {
  for (const name of [
    'connection',
    'keep-alive',
    'proxy-connection',
    'transfer-encoding',
    'upgrade',
  ]) {
    assert.match(check([...REQ, name, 'x'])!, /connection-specific/);
  }
  assert.match(check([...REQ, 'te', 'gzip'])!, /only "trailers"/);
});

test('content-length must be digits, and repeated ones agree', () => {
  assert.equal(check([...REQ, 'content-length', '3', 'content-length', '3']), null);
  assert.equal(facts.contentLength, 3);
  assert.match(check([...REQ, 'content-length', '3', 'content-length', '4'])!, /disagree/);
  assert.match(check([...REQ, 'content-length', '-1'])!, /not a number/);
});
