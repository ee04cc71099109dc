// The one target syntax: every accepted form, its canonical text, and clear errors for the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TargetError } from '../../resolver/errors.js';
import { formatTarget, parseTarget, type Target } from '../../resolver/target.js';

const accepted: [string, Target, string][] = [
  [
    'dns:///svc.example:50051',
    { scheme: 'dns', nameserver: undefined, host: 'svc.example', port: 50051 },
    'dns:///svc.example:50051',
  ],
  [
    'dns:///svc.example',
    { scheme: 'dns', nameserver: undefined, host: 'svc.example', port: 443 },
    'dns:///svc.example:443',
  ],
  [
    'dns://10.0.0.53:5353/svc.example:80',
    { scheme: 'dns', nameserver: { host: '10.0.0.53', port: 5353 }, host: 'svc.example', port: 80 },
    'dns://10.0.0.53:5353/svc.example:80',
  ],
  [
    'dns://[::1]/svc:80',
    { scheme: 'dns', nameserver: { host: '::1', port: 53 }, host: 'svc', port: 80 },
    'dns://[::1]:53/svc:80',
  ],
  [
    'DNS:///[2001:db8::1]:443',
    { scheme: 'dns', nameserver: undefined, host: '2001:db8::1', port: 443 },
    'dns:///[2001:db8::1]:443',
  ],
  [
    'localhost:50051',
    { scheme: 'dns', nameserver: undefined, host: 'localhost', port: 50051 },
    'dns:///localhost:50051',
  ],
  [
    '[::1]:8080',
    { scheme: 'dns', nameserver: undefined, host: '::1', port: 8080 },
    'dns:///[::1]:8080',
  ],
  ['::1', { scheme: 'dns', nameserver: undefined, host: '::1', port: 443 }, 'dns:///[::1]:443'],
  [
    'svc.example',
    { scheme: 'dns', nameserver: undefined, host: 'svc.example', port: 443 },
    'dns:///svc.example:443',
  ],
  // A host called "dns" on a port is a host, not a scheme.
  ['dns:53', { scheme: 'dns', nameserver: undefined, host: 'dns', port: 53 }, 'dns:///dns:53'],
  [
    'dns+srv:///_grpc._tcp.svc.example',
    { scheme: 'dns+srv', nameserver: undefined, name: '_grpc._tcp.svc.example' },
    'dns+srv:///_grpc._tcp.svc.example',
  ],
  [
    'dns+srv://127.0.0.1:5353/_grpc._tcp.svc.test',
    {
      scheme: 'dns+srv',
      nameserver: { host: '127.0.0.1', port: 5353 },
      name: '_grpc._tcp.svc.test',
    },
    'dns+srv://127.0.0.1:5353/_grpc._tcp.svc.test',
  ],
  [
    'consul:///route_guide',
    {
      scheme: 'consul',
      agent: undefined,
      service: 'route_guide',
      tags: [],
      datacenter: undefined,
      namespace: undefined,
      filter: undefined,
    },
    'consul:///route_guide',
  ],
  [
    'consul://consul.local:8501/users?tag=v2&tag=grpc&dc=eu1&ns=team-a&filter=Service.Meta.zone%20%3D%3D%20%22a%22',
    {
      scheme: 'consul',
      agent: { host: 'consul.local', port: 8501 },
      service: 'users',
      tags: ['v2', 'grpc'],
      datacenter: 'eu1',
      namespace: 'team-a',
      filter: 'Service.Meta.zone == "a"',
    },
    'consul://consul.local:8501/users?tag=v2&tag=grpc&dc=eu1&ns=team-a&filter=Service.Meta.zone+%3D%3D+%22a%22',
  ],
  [
    'consul://127.0.0.1/users',
    {
      scheme: 'consul',
      agent: { host: '127.0.0.1', port: 8500 },
      service: 'users',
      tags: [],
      datacenter: undefined,
      namespace: undefined,
      filter: undefined,
    },
    'consul://127.0.0.1:8500/users',
  ],
  [
    'static:///10.0.0.1:50051,10.0.0.2:50051',
    {
      scheme: 'static',
      endpoints: [
        { host: '10.0.0.1', port: 50051 },
        { host: '10.0.0.2', port: 50051 },
      ],
    },
    'static:///10.0.0.1:50051,10.0.0.2:50051',
  ],
  [
    '127.0.0.1:50051, 127.0.0.1:50052',
    {
      scheme: 'static',
      endpoints: [
        { host: '127.0.0.1', port: 50051 },
        { host: '127.0.0.1', port: 50052 },
      ],
    },
    'static:///127.0.0.1:50051,127.0.0.1:50052',
  ],
  [
    'static:///[::1]:1,backend:2',
    {
      scheme: 'static',
      endpoints: [
        { host: '::1', port: 1 },
        { host: 'backend', port: 2 },
      ],
    },
    'static:///[::1]:1,backend:2',
  ],
];

const rejected: [string, RegExp][] = [
  ['', /empty/],
  ['   ', /empty/],
  ['foo:///bar:1', /unknown scheme "foo"/],
  ['unix:///tmp/sock', /unknown scheme "unix"/],
  ['dns:svc:50051', /write dns:\/\/\/… \(with three slashes\)/],
  ['http://svc:80', /unknown scheme "http"/],
  ['dns:///svc:0', /port 0 is out of range/],
  ['dns:///svc:65536', /port 65536 is out of range/],
  ['svc:99999', /port 99999 is out of range/],
  ['dns:///svc:http', /port "http" is not a number/],
  ['dns:///svc:', /port "" is not a number/],
  ['dns:///', /host is empty/],
  ['dns:///bad_host!:1', /not a valid host name/],
  ['dns:///fe80::zz:443', /IPv6 addresses with a port need brackets/],
  ['dns://10.0.0.1', /expected dns:\/\/\[authority\]\/path/],
  ['dns:///[not-v6]:443', /not \[IPv6\]:port/],
  ['dns://ns.example/svc:1', /nameserver "ns.example" must be an IP address/],
  ['dns:///a:1,b:2', /not host:port/],
  ['dns+srv:///', /SRV name is empty/],
  ['dns+srv:///_grpc._tcp.svc:50051', /carries no port/],
  ['consul:///', /service name is empty/],
  ['consul:///svc?colour=red', /unknown parameter "colour"/],
  ['consul:///svc?dc=a&dc=b', /"dc" may appear only once/],
  ['consul:///svc?tag=', /"tag" is empty/],
  ['consul:///bad/name', /not a valid Consul service name/],
  ['static:///', /static list is empty/],
  ['static:///10.0.0.1', /needs a port/],
  ['static://host/10.0.0.1:1', /no authority/],
  ['10.0.0.1:1,10.0.0.2', /needs a port/],
  ['10.0.0.1:1,,10.0.0.2:1', /static endpoint is empty/],
];

void describe('parseTarget', () => {
  for (const [text, expected, canonical] of accepted) {
    void it(`parses ${JSON.stringify(text)}`, () => {
      const target = parseTarget(text);
      assert.deepEqual(target, expected);
      assert.equal(formatTarget(target), canonical);
      assert.deepEqual(parseTarget(formatTarget(target)), target, 'round trip');
    });
  }

  for (const [text, message] of rejected) {
    void it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseTarget(text),
        (error: unknown) => {
          assert.ok(error instanceof TargetError);
          assert.equal(error.code, 'SWY_ERR_BAD_TARGET');
          assert.equal(error.target, text);
          assert.ok(error.message.includes(`"${text}"`), `names the target: ${error.message}`);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
