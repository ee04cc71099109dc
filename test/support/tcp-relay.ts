// A TCP relay in front of a backend: counts the connections the proxy opens and can freeze
// traffic, to play a peer that silently stopped answering.
import net from 'node:net';

export interface TcpRelay {
  readonly address: string;
  /** Connections accepted so far, and open now. */
  readonly accepted: number;
  readonly open: number;
  /** Stops moving bytes in both directions (sockets stay open). */
  freeze(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: string): Promise<TcpRelay> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let frozen = false;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    const forward = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (!frozen) to.write(chunk);
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    address,
    get accepted() {
      return accepted;
    },
    get open() {
      let n = 0;
      for (const s of sockets) if (s.remotePort !== port) n++;
      return n;
    },
    freeze() {
      frozen = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
