// `filters:` in the config file: each entry checked with its line:col, exactly one filter kind
// per entry, module paths resolved against the config file, and a module that does not load
// refused at startup with the entry's place.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../config/config-error.js';
import { loadConfig, parseConfig } from '../../config/load-config.js';
import { configValidators } from '../../proxy/config-validators.js';
import { Switchyard } from '../../proxy/switchyard.js';
import { FilterConfigError } from '../../filter/filter-errors.js';

const OPTIONS = {
  validators: configValidators,
  env: {},
  baseDir: '/etc/switchyard',
  checkFile: (path: string) => (path.endsWith('missing.js') ? 'ENOENT' : undefined),
};

function config(filters: string, listenerFilters = ''): string {
  return `listeners:
  - address: 127.0.0.1:0
${listenerFilters}
routes:
  - match: { service: test.Echo }
    cluster: echo
    filters:
${filters}
clusters:
  echo: { target: "static:///127.0.0.1:1" }
`;
}

function problems(text: string): string {
  try {
    parseConfig(text, 'switchyard.yaml', OPTIONS);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the config was accepted');
}

describe('filters in the config', () => {
  it('reads headers, rateLimit and module entries in order, for routes and listeners', () => {
    const c = parseConfig(
      config(
        `      - headers: { request: { set: { x-peer: "\${peer.address}" }, remove: [x-debug] } }
      - rateLimit: { requestsPerSecond: 100, burst: 20, key: metadata.x-tenant }
      - module: ./filters/tenant.js
        options: { header: x-tenant }`,
        `    filters:
      - rateLimit: { requestsPerSecond: 5 }`,
      ),
      'switchyard.yaml',
      OPTIONS,
    );
    const f = c.routes[0].filters!;
    assert.deepEqual(
      f.map((x) => x.kind),
      ['headers', 'rateLimit', 'module'],
    );
    assert.equal(f[0].source, 'switchyard.yaml:9:9');
    assert.ok(f[0].kind === 'headers' && f[0].request.set['x-peer'] === '${peer.address}');
    assert.ok(f[1].kind === 'rateLimit' && f[1].burst === 20 && f[1].key === 'metadata.x-tenant');
    assert.ok(f[2].kind === 'module');
    assert.equal(f[2].module, '/etc/switchyard/filters/tenant.js');
    assert.deepEqual(f[2].options, { header: 'x-tenant' });
    const l = c.listeners[0].filters!;
    assert.ok(l[0].kind === 'rateLimit');
    // burst defaults to the rate, maxKeys to 10,000, key to one bucket per route.
    assert.equal(l[0].burst, 5);
    assert.equal(l[0].key, 'route');
    assert.equal(l[0].maxKeys, 10_000);
  });

  it('names the place of each bad entry', () => {
    const text = problems(
      config(`      - rateLimit: { requestsPerSecond: 0, key: jwt }
      - headers: {}
        module: ./x.js
      - {}
      - module: ./missing.js
      - headers: { request: { add: { "bad name": x } } }
      - headers: {}
        options: { a: 1 }
      - ratelimit: {}`),
    );
    const lines = text.split('\n');
    const expected = [
      /^switchyard\.yaml:8:41 .*requestsPerSecond: must be from 0\.001/,
      /^switchyard\.yaml:8:49 .*key: "jwt" must be route, peer/,
      /^switchyard\.yaml:9:9 .*one of headers, rateLimit, jwt, authz or module; this one has headers and module/,
      /^switchyard\.yaml:11:9 .*needs one of headers, rateLimit, jwt, authz or module/,
      /^switchyard\.yaml:12:17 .*module: cannot read \/etc\/switchyard\/missing\.js/,
      /^switchyard\.yaml:13:38 .*"bad name" is not a metadata name/,
      /^switchyard\.yaml:15:18 .*`options` goes with `module` only/,
      /^switchyard\.yaml:16:9 .*unknown key "ratelimit" \(did you mean "rateLimit"\?\)/,
    ];
    for (const re of expected)
      assert.ok(
        lines.some((l) => re.test(l)),
        `${String(re)} in\n${text}`,
      );
    // One message per problem: the entry whose module is missing is not also "empty".
    assert.equal(lines.filter((l) => l.startsWith('switchyard.yaml:12:')).length, 1);
  });

  it('refuses at startup a module that does not load, a factory that throws, a bad ${…}', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-filters-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'broken.js'), 'export default (;\n');
    await writeFile(
      join(dir, 'throws.js'),
      'export default () => { throw new Error("no header option"); };\n',
    );
    await writeFile(join(dir, 'nothing.js'), 'export const x = 1;\n');
    const cases: [string, RegExp][] = [
      ['      - module: ./broken.js', /switchyard\.yaml:8:9: module .*broken\.js does not load: /],
      ['      - module: ./throws.js', /switchyard\.yaml:8:9: .*factory failed: no header option/],
      ['      - module: ./nothing.js', /switchyard\.yaml:8:9: .*exports no filter/],
      [
        '      - headers: { request: { set: { x-a: "${peer.nope}" } } }',
        /switchyard\.yaml:8:9: headers: x-a: "\$\{peer\.nope\}" is not one of peer\.address/,
      ],
    ];
    for (const [entry, expected] of cases) {
      const file = join(dir, 'switchyard.yaml');
      await writeFile(file, config(entry));
      const c = await loadConfig(file, { validators: configValidators, env: {} });
      await assert.rejects(Switchyard.start(c), (err: unknown) => {
        assert.ok(err instanceof FilterConfigError, String(err));
        assert.equal(err.code, 'SWY_ERR_FILTER_CONFIG');
        assert.match(err.message.replace(dir + '/', ''), expected);
        return true;
      });
    }
  });
});
