// SWITCHYARD_TRACE parsing: categories, `all`, and one warning for unknown names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTrace, traceWarning, TRACE_CATEGORIES } from '../../common/trace.js';

describe('SWITCHYARD_TRACE', () => {
  it('is off for unset and empty values', () => {
    for (const value of [undefined, '', ' , ']) {
      const { flags, unknown } = parseTrace(value);
      assert.deepEqual(flags, { call: false, balancer: false, pool: false, resolver: false });
      assert.deepEqual(unknown, []);
    }
  });

  it('turns on the named categories, any case, spaces ignored', () => {
    const { flags, unknown } = parseTrace('pool, CALL');
    assert.deepEqual(flags, { call: true, balancer: false, pool: true, resolver: false });
    assert.deepEqual(unknown, []);
  });

  it('turns on every category with all', () => {
    const { flags } = parseTrace('all');
    for (const category of TRACE_CATEGORIES) assert.equal(flags[category], true, category);
  });

  it('keeps the known names of a value with unknown ones, and warns once for all of these', () => {
    const { flags, unknown } = parseTrace('pool,balancr,zzz');
    assert.equal(flags.pool, true);
    assert.equal(flags.balancer, false);
    assert.deepEqual(unknown, ['balancr', 'zzz']);
    assert.equal(
      traceWarning(unknown),
      'SWITCHYARD_TRACE: unknown categories "balancr" (did you mean "balancer"?), "zzz"; ' +
        'known: call, balancer, pool, resolver, all',
    );
    assert.equal(traceWarning([]), undefined);
  });
});
