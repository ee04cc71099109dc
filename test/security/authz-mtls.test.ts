// gRFC A43 principals from real client certificates: openssl makes a CA and client certificates
// (a SPIFFE URI SAN, a DNS SAN, a subject only, one from another CA), a TLS server on loopback
// reads each connection's verified identity as the proxy does (common/peer-identity.ts), and a
// policy loaded from a file decides.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { verifiedPeerIdentity } from '../../common/peer-identity.js';
import { authorize, loadAuthzPolicyFile, type AuthzPolicy } from '../../security/authz/index.js';
import { createRefusedClientCerts, createTestCerts, type TestCerts } from '../support/certs.js';

const run = promisify(execFile);

async function clientCert(
  certs: TestCerts,
  name: string,
  subject: string,
  san: string[],
): Promise<Buffer> {
  const path = (f: string) => join(certs.dir, f);
  await writeFile(
    path(`${name}.ext`),
    [
      'basicConstraints=CA:FALSE',
      'extendedKeyUsage=clientAuth',
      ...(san.length > 0 ? ['subjectAltName=@alt', '[alt]', ...san] : []),
    ].join('\n') + '\n',
  );
  await run('openssl', [
    'req',
    '-new',
    '-key',
    certs.clientKeyPath,
    '-out',
    path(`${name}.csr`),
    '-subj',
    subject,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    path(`${name}.csr`),
    '-CA',
    certs.caCertPath,
    '-CAkey',
    certs.caKeyPath,
    '-set_serial',
    '0x5151',
    '-days',
    '2',
    '-extfile',
    path(`${name}.ext`),
    '-out',
    path(`${name}.pem`),
  ]);
  return readFile(path(`${name}.pem`));
}

const POLICY = {
  name: 'greeter-policy',
  deny_rules: [
    {
      name: 'no-batch-writes',
      source: { principals: ['CN=batch,O=Acme'] },
      request: { paths: ['/greeter.Greeter/Set*'] },
    },
  ],
  allow_rules: [
    { name: 'prod-workloads', source: { principals: ['spiffe://acme.test/ns/prod/*'] } },
    {
      name: 'internal-hosts',
      source: { principals: ['*.internal.acme.test'] },
      request: { paths: ['/greeter.Greeter/Get*'] },
    },
    { name: 'batch', source: { principals: ['CN=batch,O=Acme'] } },
    { name: 'health', request: { paths: ['/grpc.health.v1.Health/Check'] } },
  ],
};

describe('authorization with real client certificates', () => {
  let certs: TestCerts;
  let server: tls.Server;
  let port: number;
  let policy: AuthzPolicy;
  const clients: Record<string, Buffer> = {};
  let foreign: Buffer;

  before(async () => {
    certs = await createTestCerts();
    clients.spiffe = await clientCert(certs, 'spiffe', '/O=Acme/CN=web', [
      'URI.1 = spiffe://acme.test/ns/prod/sa/web',
    ]);
    clients.devSpiffe = await clientCert(certs, 'dev', '/O=Acme/CN=web', [
      'URI.1 = spiffe://acme.test/ns/dev/sa/web',
    ]);
    clients.dns = await clientCert(certs, 'dns', '/O=Acme/CN=host', [
      'DNS.1 = db1.internal.acme.test',
    ]);
    clients.batch = await clientCert(certs, 'batch', '/O=Acme/CN=batch', []);
    foreign = (await createRefusedClientCerts(certs)).untrusted.cert;
    const file = join(certs.dir, 'policy.json');
    await writeFile(file, JSON.stringify(POLICY, null, 2));
    policy = loadAuthzPolicyFile(file);

    server = tls.createServer({
      cert: certs.serverCert,
      key: certs.serverKey,
      ca: certs.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    // One line per connection: the path asked for; one line back: the decision.
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const identity = verifiedPeerIdentity(socket);
      socket.setEncoding('utf8');
      socket.once('data', (path: string) => {
        const decision = authorize(policy, { path: path.trim(), headers: {}, tls: { identity } });
        socket.end(JSON.stringify(decision));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.close();
    await certs.cleanup();
  });

  async function decide(path: string, cert?: Buffer) {
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: certs.ca,
      ...(cert ? { cert, key: certs.clientKey } : {}),
    });
    await once(socket, 'secureConnect');
    socket.end(`${path}\n`);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    await once(socket, 'end');
    socket.destroy();
    return JSON.parse(text) as { allowed: boolean; rule?: string; reason?: string };
  }

  it('allows by URI SAN, DNS SAN and subject, and denies the rest', async () => {
    assert.deepEqual(await decide('/greeter.Greeter/SetName', clients.spiffe), {
      allowed: true,
      policy: 'greeter-policy',
      rule: 'prod-workloads',
    });
    const dev = await decide('/greeter.Greeter/GetName', clients.devSpiffe);
    assert.equal(dev.allowed, false);
    assert.equal(dev.reason, 'NO_MATCH');
    assert.equal((await decide('/greeter.Greeter/GetName', clients.dns)).rule, 'internal-hosts');
    assert.equal((await decide('/greeter.Greeter/SetName', clients.dns)).allowed, false);
    // The subject as grpc-go writes it (RFC 2253: CN first).
    assert.equal((await decide('/greeter.Greeter/GetName', clients.batch)).rule, 'batch');
  });

  it('lets the deny rule win over an allow rule for the same peer', async () => {
    const denied = await decide('/greeter.Greeter/SetName', clients.batch);
    assert.equal(denied.allowed, false);
    assert.equal(denied.reason, 'DENY_RULE');
    assert.equal(denied.rule, 'no-batch-writes');
  });

  it('treats no certificate and an unverified one alike: only rules without principals match', async () => {
    for (const cert of [undefined, foreign]) {
      assert.equal((await decide('/grpc.health.v1.Health/Check', cert)).rule, 'health');
      assert.equal((await decide('/greeter.Greeter/GetName', cert)).allowed, false);
    }
  });
});
