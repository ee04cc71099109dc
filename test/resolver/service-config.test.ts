// gRPC's TXT service config: choice selection and the malformed cases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectServiceConfig } from '../../resolver/service-config.js';

const ctx = { percentage: 42, hostname: 'client-1' };

function txt(value: unknown): string[][] {
  return [['v=spf1 -all'], [`grpc_config=${JSON.stringify(value)}`]];
}

void describe('selectServiceConfig', () => {
  void it('finds no config without a grpc_config record', () => {
    assert.deepEqual(selectServiceConfig([['hello']], ctx), { kind: 'none' });
  });

  void it('joins the strings of one record (DNS splits text at 255 bytes)', () => {
    const text = `grpc_config=${JSON.stringify([{ serviceConfig: { methodConfig: [] } }])}`;
    const split = [[text.slice(0, 20), text.slice(20)]];
    assert.deepEqual(selectServiceConfig(split, ctx), { kind: 'ok', config: { methodConfig: [] } });
  });

  void it('picks the first applicable choice', () => {
    const choices = [
      { clientLanguage: ['go', 'java'], serviceConfig: { loadBalancingPolicy: 'go' } },
      { clientHostname: ['other'], serviceConfig: { loadBalancingPolicy: 'other' } },
      { percentage: 42, serviceConfig: { loadBalancingPolicy: 'canary' } },
      {
        clientLanguage: ['NODE'],
        percentage: 43,
        clientHostname: ['client-1'],
        serviceConfig: { loadBalancingPolicy: 'mine' },
      },
      { serviceConfig: { loadBalancingPolicy: 'fallback' } },
    ];
    assert.deepEqual(selectServiceConfig(txt(choices), ctx), {
      kind: 'ok',
      config: { loadBalancingPolicy: 'mine' },
    });
  });

  void it('finds nothing when no choice applies', () => {
    assert.deepEqual(selectServiceConfig(txt([{ percentage: 0, serviceConfig: {} }]), ctx), {
      kind: 'none',
    });
  });

  for (const [what, records, message] of [
    ['bad JSON', [['grpc_config=[{']], /not valid JSON/],
    ['not a list', txt({ serviceConfig: {} }), /not a JSON list/],
    ['two records', [['grpc_config=[]'], ['grpc_config=[]']], /more than one/],
    ['an unknown field', txt([{ serviceConfig: {}, colour: 'red' }]), /unknown field "colour"/],
    ['a bad percentage', txt([{ percentage: 101, serviceConfig: {} }]), /percentage/],
    ['a bad serviceConfig', txt([{ serviceConfig: [] }]), /serviceConfig is not an object/],
    [
      'a bad loadBalancingConfig',
      txt([{ serviceConfig: { loadBalancingConfig: {} } }]),
      /loadBalancingConfig/,
    ],
  ] as const) {
    void it(`reports ${what}`, () => {
      const result = selectServiceConfig(records, ctx);
      assert.equal(result.kind, 'error');
      assert.match((result as { message: string }).message, message);
    });
  }
});
