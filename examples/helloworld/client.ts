// The smallest switchyard example client: greets through one channel and prints which
// backend answered each call.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { HELLOWORLD_PROTO, loadServiceClient } from '../protos.js';
import { channelCredentialsFromFile, isMainModule, parseCount } from '../route-guide/cli.js';
import type { HelloReply, HelloRequest } from './server.js';

/** The typed view of the grpc-js client built from helloworld.proto. */
export interface GreeterClient extends grpc.Client {
  SayHello(
    request: HelloRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<HelloReply>,
  ): grpc.ClientUnaryCall;
}

/** One answered greeting. */
export interface Greeting {
  message: string;
  /** The `x-backend` response header; undefined if the answer carried none. */
  backend: string | undefined;
}

/** Creates a Greeter client; close it with `client.close()`. */
export function createGreeterClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  channelOptions?: grpc.ChannelOptions,
): GreeterClient {
  const Client = loadServiceClient(HELLOWORLD_PROTO, 'helloworld.Greeter');
  return new Client(target, credentials, channelOptions) as unknown as GreeterClient;
}

/** One SayHello call; rejects with the grpc-js ServiceError when the call fails. */
export function sayHello(
  client: GreeterClient,
  name: string,
  deadlineMs = 5000,
): Promise<Greeting> {
  return new Promise((resolve, reject) => {
    let backend: string | undefined;
    const call = client.SayHello(
      { name },
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, reply) => {
        if (error) reject(error);
        else resolve({ message: reply?.message ?? '', backend });
      },
    );
    call.on('metadata', (metadata) => {
      backend = metadata.get('x-backend')[0]?.toString();
    });
  });
}

export interface GreetOptions {
  /** Default `world`. */
  name?: string;
  /** Calls to make one after another; default 1. */
  count?: number;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  deadlineMs?: number;
}

/** Makes `count` SayHello calls through one channel and returns the greetings in order. */
export async function greet(target: string, options: GreetOptions = {}): Promise<Greeting[]> {
  const client = createGreeterClient(target, options.credentials, options.channelOptions);
  try {
    const greetings: Greeting[] = [];
    for (let i = 0; i < (options.count ?? 1); i++) {
      greetings.push(await sayHello(client, options.name ?? 'world', options.deadlineMs));
    }
    return greetings;
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: '127.0.0.1:50051' },
      name: { type: 'string', default: 'world' },
      count: { type: 'string', default: '1' },
      ca: { type: 'string' },
    },
  });
  const greetings = await greet(values.target ?? '127.0.0.1:50051', {
    name: values.name,
    count: parseCount('count', values.count, 1),
    credentials: channelCredentialsFromFile(values.ca),
  });
  for (const { message, backend } of greetings) {
    console.log(`${message}  (x-backend: ${backend ?? 'none'})`);
  }
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
