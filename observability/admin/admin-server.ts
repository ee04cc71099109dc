// The admin listener: HTTP/1.1 (or HTTPS, asking for client certificates when it has a CA) on
// its own address (loopback unless configured otherwise), serving the admin routes, with a
// graceful close.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { SocketAddress } from '../../config/types.js';
import { SwitchyardError, describeError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AdminHandler } from './admin-routes.js';

/** How long close() lets requests in progress finish (a scrape, a reload answer). */
const CLOSE_GRACE_MS = 2_000;

/** The admin listener's TLS: its files, read, and the oldest version it accepts. */
export interface AdminTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export class AdminServer {
  private readonly server: http.Server;
  private closing: Promise<void> | undefined;
  private bound: SocketAddress | undefined;

  private constructor(
    handler: AdminHandler,
    private readonly logger: Logger,
    tls: AdminTls | undefined,
  ) {
    const options = { keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 };
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Once closing, every answer ends its connection, so close() need not wait long.
      if (this.closing !== undefined) res.setHeader('connection', 'close');
      handler(req, res).catch((err: unknown) => {
        logger.warn({ path: req.url }, `admin request failed: ${describeError(err)}`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(`${JSON.stringify({ error: describeError(err) })}\n`);
      });
    };
    this.server =
      tls === undefined
        ? http.createServer(options, listener)
        : https.createServer(
            {
              ...options,
              cert: tls.cert,
              key: tls.key,
              ca: tls.ca,
              minVersion: tls.minVersion,
              // Certificates are asked for, not required: a caller with a token needs none, and
              // a refusal then comes as an HTTP answer that says why.
              requestCert: tls.ca !== undefined,
              rejectUnauthorized: false,
            },
            listener,
          );
    this.server.on('clientError', (_err, socket: net.Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listens on `address`; rejects with SWY_ERR_LISTEN when the address cannot be bound. */
  static async listen(
    address: SocketAddress,
    handler: AdminHandler,
    logger: Logger,
    tls?: AdminTls,
  ): Promise<AdminServer> {
    const admin = new AdminServer(handler, logger, tls);
    admin.bound = await admin.bind(address);
    return admin;
  }

  /** The bound address (the real port when the config said 0). */
  get address(): SocketAddress {
    return this.bound!;
  }

  /**
   * Stops listening at once, lets requests in progress finish for up to `graceMs`, then cuts
   * what is left; resolves when every connection is closed. Idempotent.
   */
  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const server = this.server;
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return this.closing;
  }

  private bind(address: SocketAddress): Promise<SocketAddress> {
    const server = this.server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new SwitchyardError(
            'SWY_ERR_LISTEN',
            `the admin listener cannot listen on ${address.host}:${address.port}: ${describeError(err)}`,
            { cause: err },
          ),
        );
      server.once('error', onError);
      server.listen({ host: address.host, port: address.port }, () => {
        server.removeListener('error', onError);
        server.on('error', (err) => this.logger.error(`admin listener: ${describeError(err)}`));
        const a = server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }
}
