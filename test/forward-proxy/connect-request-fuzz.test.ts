// Properties of the forward-proxy's CONNECT request head: a request built from a host, a port and
// header lines parses to them (and its authority parses to the same target again), any other
// text is refused with 400, 405 or 431 and a reason, never a throw, and the end of the head is
// found the same way however the bytes are split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  connectRefusal,
  headEnd,
  parseConnectHead,
  type ConnectHead,
} from '../../forward-proxy/connect-request.js';
import { FUZZ_TEST, fuzzParams, mutated, stringFrom } from '../support/fuzz.js';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const hostName = fc
  .array(fc.stringMatching(/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,6}[A-Za-z0-9_])?$/), {
    minLength: 1,
    maxLength: 3,
  })
  .map((labels) => labels.join('.'));
const host = fc.oneof(
  hostName.map((h) => ({ written: h, host: h.toLowerCase(), v6: false })),
  fc.ipV4().map((h) => ({ written: h, host: h, v6: false })),
  fc.ipV6().map((h) => ({ written: `[${h}]`, host: h.toLowerCase(), v6: true })),
);
const port = fc.integer({ min: 1, max: 65_535 });
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/);
// Field values: visible ASCII and inner spaces or tabs (the parser trims the ends).
const headerValue = fc.stringMatching(/^[!-~](?:[ -~\t]{0,20}[!-~])?$/);
const header = fc.tuple(headerName, headerValue, fc.constantFrom(':', ': ', ':\t', ':  '));

function parse(text: string): ConnectHead {
  const parsed = parseConnectHead(text);
  if (!parsed.ok) {
    assert.ok([400, 405, 431].includes(parsed.status), `${text}: ${parsed.status}`);
    assert.ok(parsed.reason.length > 0);
    // The refusal is one short, well-formed HTTP/1.1 answer, whatever the reason quotes.
    const answer = connectRefusal(parsed.status, parsed.reason);
    assert.match(answer, /^HTTP\/1\.1 \d{3} [A-Za-z ]+\r\n/);
    assert.ok(answer.indexOf('\r\n\r\n') > 0);
  }
  return parsed;
}

void test(
  'a CONNECT request built from its parts parses to them, and its authority to the same target',
  FUZZ_TEST,
  () => {
    fc.assert(
      fc.property(
        host,
        port,
        fc.constantFrom('0', '1'),
        fc.array(header, { maxLength: 5 }),
        fc.constantFrom('\r\n', '\n'),
        ({ written, host: h, v6 }, p, minor, headers, eol) => {
          const lines = [`CONNECT ${written}:${p} HTTP/1.${minor}`];
          for (const [name, value, sep] of headers) lines.push(`${name}${sep}${value}`);
          const parsed = parse(lines.join(eol) + eol);
          assert.ok(parsed.ok, lines.join('|'));
          assert.equal(parsed.target.host, h);
          assert.equal(parsed.target.port, p);
          assert.equal(parsed.target.authority, v6 ? `[${h}]:${p}` : `${h}:${p}`);
          const expected = new Map<string, string>();
          for (const [name, value] of headers) expected.set(name.toLowerCase(), value);
          assert.deepEqual(parsed.headers, expected);
          const again = parse(`CONNECT ${parsed.target.authority} HTTP/1.1`);
          assert.ok(again.ok);
          assert.deepEqual({ ...again.target, rawHost: '' }, { ...parsed.target, rawHost: '' });
        },
      ),
      fuzzParams(14_401, 3_000),
    );
  },
);

const ALPHABET = 'CONNECTGETHP/1.0:[]. \r\n\tabc-_0123456789';
const corpus = [
  'CONNECT users:443 HTTP/1.1\r\nHost: users:443\r\nProxy-Authorization: Basic eDp5\r\n',
  'CONNECT [::1]:50051 HTTP/1.0\r\n',
  'CONNECT 10.0.0.1:80 HTTP/1.1\nUser-Agent: grpc-node-js/1.14\n',
  'GET / HTTP/1.1\r\nHost: a\r\n',
];
const anyHead = fc.oneof(
  fc.string({ maxLength: 80, unit: 'binary' }),
  stringFrom(ALPHABET, 80),
  fc.constantFrom(...corpus).chain((t) => mutated(t, ALPHABET, 6)),
);

void test(
  'any request head is parsed or refused with 400, 405 or 431, never thrown',
  FUZZ_TEST,
  () => {
    fc.assert(
      fc.property(anyHead, (text) => {
        const parsed = parse(text);
        if (!parsed.ok) return;
        const { host: h, port: p, authority, rawHost } = parsed.target;
        assert.ok(p >= 1 && p <= 65_535);
        assert.equal(h, rawHost.toLowerCase());
        for (const name of parsed.headers.keys()) assert.match(name, TOKEN);
        const again = parse(`CONNECT ${authority} HTTP/1.1`);
        assert.ok(again.ok, authority);
        assert.equal(again.target.authority, authority);
      }),
      fuzzParams(14_402, 5_000),
    );
  },
);

void test('the end of a head is found the same way however the bytes arrive', FUZZ_TEST, () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
    stringFrom('ab \r\n', 60).map((s) => Buffer.from(s, 'latin1')),
  );
  fc.assert(
    fc.property(bytes, fc.nat(60), (buffer, cut) => {
      const end = headEnd(buffer);
      if (end < 0) {
        assert.equal(buffer.indexOf('\n\n'), -1);
        assert.equal(buffer.indexOf('\r\n\r\n'), -1);
      } else {
        const head = buffer.subarray(0, end).toString('latin1');
        assert.ok(head.endsWith('\n\n') || head.endsWith('\r\n\r\n'), JSON.stringify(head));
        // The first blank line ends it: none ends earlier.
        const before = head.slice(0, -2);
        assert.ok(!before.slice(0, -1).includes('\n\n') && !before.includes('\r\n\r\n'));
      }
      // Bytes after the end change nothing; a prefix ends at the same place, or not yet.
      const prefix = buffer.subarray(0, Math.min(cut, buffer.length));
      const prefixEnd = headEnd(prefix);
      assert.ok(prefixEnd === -1 || prefixEnd === end, `${prefixEnd} vs ${end}`);
      if (end >= 0) assert.equal(headEnd(Buffer.concat([buffer, Buffer.from('\r\n\r\n')])), end);
    }),
    fuzzParams(14_403, 5_000),
  );
});
