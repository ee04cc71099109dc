// A real JWKS server for tests: node:http on loopback, port 0, serving whatever key set the test
// sets now (so keys can rotate mid-test), counting fetches, and able to hang (accept and never
// answer), serve garbage, or stop. It is also an OpenID Connect issuer: its base URL is the
// issuer, and `/.well-known/openid-configuration` names the key set (or what the test sets).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

export type JwksMode = 'serve' | 'hang' | 'garbage' | 'error' | 'huge';

export interface JwksServer {
  /** `http://127.0.0.1:PORT/jwks.json` */
  readonly uri: string;
  /** `http://127.0.0.1:PORT`: the issuer whose discovery document this server serves. */
  readonly issuer: string;
  /** Discovery documents served so far. */
  readonly discoveries: number;
  /** The discovery document from now on; default `{ issuer, jwks_uri: uri }`. */
  setDiscovery(doc: object | string): void;
  /** Fetches answered or held so far. */
  readonly fetches: number;
  /** The document served from now on (`{ keys: [...] }`). */
  setKeys(keys: readonly object[]): void;
  /** serve: the document; hang: never answer; garbage: not JSON; error: HTTP 500; huge: 1 MiB. */
  setMode(mode: JwksMode): void;
  /** Stops listening and drops every connection, held ones included. */
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly object[] = []): Promise<JwksServer> {
  let doc = JSON.stringify({ keys });
  let mode: JwksMode = 'serve';
  let fetches = 0;
  let discoveries = 0;
  let discovery: string | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/.well-known/openid-configuration') {
      discoveries++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(discovery);
      return;
    }
    if (req.url?.split('?')[0] !== '/jwks.json') {
      res.writeHead(404).end('not found');
      return;
    }
    fetches++;
    if (mode === 'hang') return;
    if (mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ {"kty": "RSA", ');
      return;
    }
    if (mode === 'huge') {
      // Streamed without a content-length, so the reader's own cap must stop it.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys": [], "pad": "');
      res.end(`${'x'.repeat(1024 * 1024)}"}`);
      return;
    }
    if (mode === 'error') {
      res.writeHead(500).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(doc);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const uri = `${issuer}/jwks.json`;
  discovery = JSON.stringify({ issuer, jwks_uri: uri });
  return {
    uri,
    issuer,
    get fetches() {
      return fetches;
    },
    get discoveries() {
      return discoveries;
    },
    setDiscovery(doc) {
      discovery = typeof doc === 'string' ? doc : JSON.stringify(doc);
    },
    setKeys(next) {
      doc = JSON.stringify({ keys: next });
    },
    setMode(next) {
      mode = next;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
