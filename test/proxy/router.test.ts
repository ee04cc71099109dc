// Route matching order and rules, without sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteConfig } from '../../config/types.js';
import { Router } from '../../proxy/router.js';

const route = (name: string, match: Partial<RouteConfig['match']>): RouteConfig => ({
  name,
  cluster: name,
  match: { headers: [], ...match },
});

describe('router', () => {
  it('takes the first matching route', () => {
    const router = new Router([
      route('method', { service: 'pkg.Svc', method: 'Get' }),
      route('service', { service: 'pkg.Svc' }),
      route('prefix', { prefix: '/pkg.' }),
      route('all', {}),
    ]);
    assert.equal(router.match('/pkg.Svc/Get', [])?.name, 'method');
    assert.equal(router.match('/pkg.Svc/List', [])?.name, 'service');
    assert.equal(router.match('/pkg.Other/Get', [])?.name, 'prefix');
    assert.equal(router.match('/x.Y/Z', [])?.name, 'all');
    // Cached answers stay right.
    assert.equal(router.match('/pkg.Svc/Get', [])?.name, 'method');
  });

  it('does not treat a service name as a prefix of a longer one', () => {
    const router = new Router([route('svc', { service: 'pkg.Svc' })]);
    assert.equal(router.match('/pkg.SvcV2/Get', []), undefined);
  });

  it('checks every header rule', () => {
    const router = new Router([
      route('exact', { headers: [{ name: 'x-env', exact: 'canary' }] }),
      route('prefix', { headers: [{ name: 'x-user', prefix: 'admin-' }] }),
      route('regex', { headers: [{ name: 'x-region', regex: 'eu-(west|north)' }] }),
      route('absent', { headers: [{ name: 'x-debug', present: false }] }),
      route('fallback', {}),
    ]);
    assert.equal(router.match('/a/b', ['x-env', 'canary'])?.name, 'exact');
    assert.equal(router.match('/a/b', ['x-user', 'admin-1'])?.name, 'prefix');
    assert.equal(router.match('/a/b', ['x-region', 'eu-west'])?.name, 'regex');
    assert.equal(router.match('/a/b', ['x-region', 'eu-westx', 'x-debug', '1'])?.name, 'fallback');
    assert.equal(router.match('/a/b', [])?.name, 'absent');
  });

  it('matches a repeated header by its values joined with ", " (RFC 9110 §5.3)', () => {
    const router = new Router([
      route('both', { headers: [{ name: 'x-env', exact: 'blue, canary' }] }),
      route('fallback', {}),
    ]);
    assert.equal(router.match('/a/b', ['x-env', 'blue', 'x-env', 'canary'])?.name, 'both');
    assert.equal(router.match('/a/b', ['x-env', 'canary'])?.name, 'fallback');
  });
});
