// A library backend (test/fixtures/gateway/library.proto) behind a proxy whose listener serves
// a gateway with the library's descriptors: the REST, gRPC-Web and OpenAPI tests' setup.
import type { ListenerConfig, ListenerGatewayConfig } from '../../config/types.js';
import { startTestProxy, type TestProxy } from './proxy-harness.js';
import {
  LIBRARY_DIR,
  LIBRARY_PROTO,
  startLibraryBackend,
  type LibraryBackend,
} from './library-backend.js';

export interface LibraryGatewayOptions {
  readonly gateway: ListenerGatewayConfig;
  /** More listener settings beside the gateway. */
  readonly listener?: Partial<ListenerConfig>;
  /** Add `GET /v1/ping` for library.v1.Library.Ping to the proto's own HTTP rules. */
  readonly pingRule?: boolean;
}

export interface LibraryGateway {
  readonly backend: LibraryBackend;
  readonly proxy: TestProxy;
  /** `http://127.0.0.1:PORT` of the gateway's listener. */
  readonly base: string;
  /** Closes the proxy, then the backend. */
  close(): Promise<void>;
}

export async function startLibraryGateway(options: LibraryGatewayOptions): Promise<LibraryGateway> {
  const backend = await startLibraryBackend();
  let proxy: TestProxy;
  try {
    proxy = await startTestProxy({
      upstream: backend.address,
      listener: { ...options.listener, gateway: options.gateway },
      config: {
        descriptors: {
          protos: { files: [LIBRARY_PROTO], importPaths: [LIBRARY_DIR] },
          httpRules: options.pingRule
            ? [
                {
                  rule: { selector: 'library.v1.Library.Ping', get: '/v1/ping' },
                  source: 'test:1:1',
                },
              ]
            : [],
        },
      },
    });
  } catch (err) {
    backend.close();
    throw err;
  }
  return {
    backend,
    proxy,
    base: `http://${proxy.target}`,
    close: async () => {
      await proxy.close();
      backend.close();
    },
  };
}
