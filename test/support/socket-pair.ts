// Two ends of a real loopback connection (TCP, or TLS over TCP) for tests of code that reads and
// writes sockets; close() destroys both ends and the listener.
import net from 'node:net';
import tls from 'node:tls';
import type { TestCerts } from './certs.js';

export interface SocketPair<S extends net.Socket = net.Socket> {
  /** The connecting end. */
  readonly client: S;
  /** The accepted end. */
  readonly server: S;
  close(): Promise<void>;
}

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function closer(server: net.Server, sockets: net.Socket[]): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

export async function tcpPair(): Promise<SocketPair> {
  const server = net.createServer();
  const port = await listening(server);
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const socket = await accepted;
  return { client, server: socket, close: closer(server, [client, socket]) };
}

export async function tlsPair(certs: TestCerts): Promise<SocketPair<tls.TLSSocket>> {
  const server = tls.createServer({ cert: certs.serverCert, key: certs.serverKey });
  const port = await listening(server);
  const accepted = new Promise<tls.TLSSocket>((resolve) =>
    server.once('secureConnection', resolve),
  );
  const client = tls.connect({ port, host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  });
  const socket = await accepted;
  return { client, server: socket, close: closer(server, [client, socket]) };
}
