// The smallest switchyard example backend: a Greeter that says which backend answered.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { HELLOWORLD_PROTO, loadServiceClient } from '../protos.js';
import { bindServer, serverShutdown } from '../grpc-server.js';
import {
  formatAddress,
  isMainModule,
  parseCount,
  serverCredentialsFromFiles,
  shutdownOnSignals,
} from '../route-guide/cli.js';

/** helloworld.HelloRequest */
export interface HelloRequest {
  name: string;
}

/** helloworld.HelloReply */
export interface HelloReply {
  message: string;
}

export interface GreeterServerOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Sent back in the `x-backend` header and in the greeting. */
  name: string;
  /** Default insecure. */
  credentials?: grpc.ServerCredentials;
}

export interface GreeterServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`, IPv6 hosts in brackets. */
  readonly address: string;
  /** SayHello calls served so far. */
  readonly calls: number;
  /** Graceful: waits for calls in flight (tryShutdown). */
  close(): Promise<void>;
  /** Immediate: cancels calls in flight (forceShutdown). */
  kill(): void;
}

/** Starts a Greeter server; the reply is `Hello <name> from <backend>`. */
export async function startGreeterServer(options: GreeterServerOptions): Promise<GreeterServer> {
  const name = options.name;
  const host = options.host ?? '127.0.0.1';
  const headers = new grpc.Metadata();
  headers.set('x-backend', name);
  let calls = 0;

  const sayHello: grpc.handleUnaryCall<HelloRequest, HelloReply> = (call, callback) => {
    calls++;
    call.sendMetadata(headers);
    callback(null, { message: `Hello ${call.request.name || 'world'} from ${name}` });
  };

  const server = new grpc.Server();
  server.addService(loadServiceClient(HELLOWORLD_PROTO, 'helloworld.Greeter').service, {
    SayHello: sayHello,
  });
  const port = await bindServer(server, host, options.port ?? 0, options.credentials);
  return {
    name,
    host,
    port,
    address: formatAddress(host, port),
    get calls() {
      return calls;
    },
    ...serverShutdown(server),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '50051' },
      name: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
    },
  });
  const port = parseCount('port', values.port, 50051);
  const server = await startGreeterServer({
    host: values.host,
    port,
    name: values.name ?? `greeter-${port}`,
    credentials: serverCredentialsFromFiles(values.cert, values.key),
  });
  console.log(`greeter "${server.name}" listening on ${server.address}`);
  shutdownOnSignals(
    () => server.close(),
    () => server.kill(),
  );
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
