// Embedded in @grpc/grpc-js with http_proxy set: withProxyTunnels keeps our resolver and gives
// each endpoint its own CONNECT tunnel through tinyproxy, so calls still spread over every
// backend (grpc-js alone would send the whole channel down one tunnel).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { withProxyTunnels } from '../../embed/grpc-js-proxy.js';
import { registerWithGrpcJs } from '../../embed/register.js';
import {
  echoClient,
  echoUnary,
  echoUnaryOk,
  startEchoBackend,
  type EchoBackend,
} from '../support/echo-backend.js';
import { startTinyproxy, type Tinyproxy } from '../support/tinyproxy.js';

const PROXY_VARIABLE = /^(no_)?(grpc_|http_|https_)?proxy$|^no_grpc_proxy$/i;

/** Runs `fn` with exactly `vars` as this process's proxy environment. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.entries(process.env).filter(([k]) => PROXY_VARIABLE.test(k));
  for (const [k] of saved) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(vars)) delete process.env[k];
    for (const [k, v] of saved) process.env[k] = v;
  }
}

async function spread(target: string, options: grpc.ChannelOptions, calls: number) {
  const client = echoClient(target, { channelOptions: options });
  try {
    const counts = new Map<string, number>();
    for (let i = 0; i < calls; i++) {
      const { backend } = await echoUnaryOk(client, {}, { deadlineMs: 5_000 });
      counts.set(backend, (counts.get(backend) ?? 0) + 1);
    }
    return counts;
  } finally {
    client.close();
  }
}

const ROUND_ROBIN = { loadBalancingConfig: [{ round_robin: {} }] };

void describe('grpc-js channels with our resolvers behind an HTTP proxy', () => {
  let tinyproxy: Tinyproxy;
  let backends: EchoBackend[];
  let target: string;

  before(async () => {
    registerWithGrpcJs(grpc);
    tinyproxy = await startTinyproxy();
    backends = await Promise.all(['a', 'b', 'c'].map((name) => startEchoBackend({ name })));
    target = `static:///${backends.map((b) => b.address).join(',')}`;
  });
  after(async () => {
    backends.forEach((b) => b.kill());
    await tinyproxy.stop();
  });

  void it('spread calls over all three backends, one tunnel each (http_proxy from the environment)', async () => {
    const before = tinyproxy.connects().length;
    const options = withProxyTunnels({ 'grpc.service_config': JSON.stringify(ROUND_ROBIN) });
    const counts = await withEnv({ http_proxy: tinyproxy.url() }, () =>
      spread(target, options, 90),
    );
    // round_robin over the ready subchannels: the first call or two may come before all three are.
    for (const b of backends) {
      const n = counts.get(b.name) ?? 0;
      assert.ok(n >= 25 && n <= 35, `${b.name} served ${n} of 90: ${JSON.stringify([...counts])}`);
    }
    const connects = tinyproxy.connects().slice(before);
    assert.deepEqual([...connects].sort(), backends.map((b) => b.address).sort());
  });

  void it('keep switchyard policies as the child, and connect directly to what no_proxy names', async () => {
    const before = tinyproxy.connects().length;
    const options = withProxyTunnels({
      'grpc.service_config': JSON.stringify({
        loadBalancingConfig: [{ switchyard_least_loaded: { scoring: 'in_flight' } }],
      }),
    });
    const counts = await withEnv(
      { HTTPS_PROXY: tinyproxy.url(), no_proxy: `${backends[0].address},example.com` },
      () => spread(target, options, 60),
    );
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c']);
    const connects = tinyproxy.connects().slice(before);
    assert.deepEqual([...connects].sort(), [backends[1].address, backends[2].address].sort());
  });

  void it('take an explicit proxy URL with credentials', async (t) => {
    const guarded = await startTinyproxy({ basicAuth: { user: 'app', password: 's3cret' } });
    t.after(() => guarded.stop());
    const options = withProxyTunnels(
      { 'grpc.service_config': JSON.stringify(ROUND_ROBIN) },
      { proxy: guarded.url({ user: 'app', password: 's3cret' }) },
    );
    const counts = await withEnv({}, () => spread(target, options, 30));
    assert.equal(counts.size, 3);
    assert.equal(guarded.connects().length, 3);
  });

  void it('without withProxyTunnels, grpc-js sends the whole channel to the proxy and skips our resolver', async () => {
    // What withProxyTunnels works around: grpc-js 1.14 replaces the channel's target with the
    // proxy and CONNECTs to the original target's path, so consul:///echo becomes echo:443.
    const before = tinyproxy.connects().length;
    const status = await withEnv({ http_proxy: tinyproxy.url() }, async () => {
      // grpc-js reads the variable when the channel is made.
      const client = echoClient('consul:///echo', {
        channelOptions: { 'grpc.service_config': JSON.stringify(ROUND_ROBIN) },
      });
      try {
        return (await echoUnary(client, {}, { deadlineMs: 2_000 })).status;
      } finally {
        client.close();
      }
    });
    assert.notEqual(status.code, grpc.status.OK);
    assert.deepEqual(tinyproxy.connects().slice(before).slice(0, 1), ['echo:443']);
  });

  void it('withProxyTunnels wraps the service config and turns grpc-js’s own proxy off', () => {
    const options = withProxyTunnels(
      {
        'grpc.service_config': JSON.stringify({ ...ROUND_ROBIN, methodConfig: [] }),
        'grpc.keepalive_time_ms': 1_000,
      },
      { proxy: 'none' },
    );
    assert.equal(options['grpc.enable_http_proxy'], 0);
    assert.equal(options['grpc.keepalive_time_ms'], 1_000);
    assert.deepEqual(JSON.parse(options['grpc.service_config'] as string), {
      methodConfig: [],
      loadBalancingConfig: [
        { switchyard_proxy: { childPolicy: [{ round_robin: {} }], proxy: 'none' } },
      ],
    });
    // Idempotent, and pick_first (grpc-js's default) when no policy was chosen.
    assert.deepEqual(withProxyTunnels(options), options);
    assert.deepEqual(JSON.parse(withProxyTunnels()['grpc.service_config'] as string), {
      loadBalancingConfig: [{ switchyard_proxy: { childPolicy: [{ pick_first: {} }] } }],
    });
  });
});
