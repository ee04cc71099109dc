// google.api.http templates and the route table: parsing, matching by specificity (not by
// declaration order), 405 candidates, and rules refused at load with their source.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProtos } from '../../gateway/descriptor-pool.js';
import { buildRoutes, HttpRuleError, RouteTable } from '../../gateway/http-rules.js';
import { matchTemplate, parseTemplate, TemplateSyntaxError } from '../../gateway/path-template.js';

function api(rules: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'swy-rules-'));
  writeFileSync(
    join(dir, 'api.proto'),
    `syntax = "proto3";
package t;
import "google/api/annotations.proto";
message R { string name = 1; string id = 2; repeated string tags = 3; S sub = 4; }
message S { string v = 1; }
service T {
${rules}
}
`,
  );
  return join(dir, 'api.proto');
}

function routesOf(rules: string) {
  const file = api(rules);
  return buildRoutes(loadProtos({ files: [file], importPaths: [] }));
}

describe('path templates', () => {
  it('parses variables, wildcards and verbs', () => {
    const t = parseTemplate('/v1/{name=shelves/*/books/*}:archive');
    assert.equal(t.verb, 'archive');
    assert.equal(t.segments.length, 5);
    assert.deepEqual(t.variables, [{ fieldPath: ['name'], start: 1, end: 5 }]);
    assert.deepEqual(matchTemplate(t, ['v1', 'shelves', 'a', 'books', 'b']), ['shelves/a/books/b']);
    assert.equal(matchTemplate(t, ['v1', 'shelves', 'a', 'books']), null);
  });

  it('refuses bad templates', () => {
    for (const bad of ['v1/x', '/v1/**/x', '/v1/{a={b}}', '/v1/{a', '/v1//x', '/v1/{a.}']) {
      assert.throws(() => parseTemplate(bad), TemplateSyntaxError, bad);
    }
  });
});

describe('route table', () => {
  it('prefers literal over * over ** whatever the declaration order', () => {
    const routes = routesOf(`
  rpc Deep(R) returns (R) { option (google.api.http) = { get: "/v1/{name=**}" }; }
  rpc One(R) returns (R) { option (google.api.http) = { get: "/v1/{name}" }; }
  rpc Lit(R) returns (R) { option (google.api.http) = { get: "/v1/me" }; }`);
    const table = new RouteTable(routes);
    const pick = (p: string) => {
      const m = table.match('GET', p);
      return m.kind === 'route' ? m.route.method.name : m.kind;
    };
    assert.equal(pick('/v1/me'), 'Lit');
    assert.equal(pick('/v1/you'), 'One');
    assert.equal(pick('/v1/a/b'), 'Deep');
    assert.deepEqual(table.match('POST', '/v1/me'), { kind: 'wrong-method', allow: ['GET'] });
    assert.deepEqual(table.match('GET', '/v2'), { kind: 'not-found' });
  });

  it('reports clashing rules with both sources', () => {
    const routes = routesOf(`
  rpc A(R) returns (R) { option (google.api.http) = { get: "/v1/{name}" }; }
  rpc B(R) returns (R) { option (google.api.http) = { get: "/v1/{id}" }; }`);
    assert.throws(
      () => new RouteTable(routes),
      (err: unknown) =>
        err instanceof HttpRuleError &&
        /method t\.T\.B: GET \/v1\/\{id\} clashes with GET \/v1\/\{name\} of t\.T\.A \(.*api\.proto\)/.test(
          err.message,
        ),
    );
  });

  it('refuses rules naming fields that do not fit', () => {
    assert.throws(
      () => routesOf(`rpc A(R) returns (R) { option (google.api.http) = { get: "/v1/{nope}" }; }`),
      /"nope" is not a field of t\.R/,
    );
    assert.throws(
      () => routesOf(`rpc A(R) returns (R) { option (google.api.http) = { get: "/v1/{tags}" }; }`),
      /path variable "tags" must name a singular scalar field/,
    );
    assert.throws(
      () =>
        routesOf(`rpc A(R) returns (R) { option (google.api.http) = { post: "/v1" body: "x" }; }`),
      /body "x" is not a field of t\.R/,
    );
    // A nested path variable is fine.
    assert.equal(
      routesOf(`rpc A(R) returns (R) { option (google.api.http) = { get: "/v1/{sub.v}" }; }`)
        .length,
      1,
    );
  });
});
