// A stand-in HTTP CONNECT proxy with scripted answers (a status, or 200 and then closing the
// tunnel), for the failures a real proxy cannot be made to produce on demand.
import { createServer, type Server, type Socket } from 'node:net';

export type ProxyScript =
  /** Answer this status line (e.g. `502 Bad Gateway`) and close. */
  | { readonly answer: string }
  /** Answer 200, then close the tunnel at once. */
  | { readonly closeTunnel: true }
  /** Read the request and never answer. */
  | { readonly silent: true };

export interface ScriptedProxy {
  readonly address: string;
  readonly url: string;
  /** Request lines received (`CONNECT 127.0.0.1:1 HTTP/1.1`). */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startScriptedProxy(script: ProxyScript): Promise<ScriptedProxy> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      requests.push(head.split('\r\n')[0]);
      if ('answer' in script) {
        socket.end(`HTTP/1.1 ${script.answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      } else if ('closeTunnel' in script) {
        socket.end('HTTP/1.1 200 Connection established\r\n\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const address = `127.0.0.1:${port}`;
  return {
    address,
    url: `http://${address}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
