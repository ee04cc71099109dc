// The error catalogue: every code is documented in the README's table and every row there is a
// code; the brand is recognised across realms; `cause` is kept by every class.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { BalancerError } from '../../balancer/errors.js';
import { UsageError } from '../../bin/cli-args.js';
import { SWITCHYARD_ERROR_CODES, SwitchyardError } from '../../common/errors.js';
import { ConfigError } from '../../config/config-error.js';
import { ResolutionError, ResolverOptionsError, TargetError } from '../../resolver/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The folders that ship; bench/ and test/ are not part of the package. */
const SHIPPED = [
  'common',
  'h2',
  'config',
  'resolver',
  'balancer',
  'grpc',
  'upstream',
  'egress',
  'forward-proxy',
  'security',
  'proxy',
  'observability',
  'workers',
  'embed',
  'bin',
];
const CODE = /SWY_ERR_[A-Z0-9_]+/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function codesIn(text: string): Set<string> {
  return new Set(text.match(CODE) ?? []);
}

/** The codes in the first column of the table under "## Errors". */
function readmeCodes(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  assert.ok(start >= 0, 'README has an "Errors" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `(SWY_ERR_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
}

describe('error catalogue', () => {
  it('documents every code in the README table once, and no code that does not exist', () => {
    const h2Codes = new Set<string>();
    for (const file of sourceFiles(join(ROOT, 'h2'))) {
      for (const code of codesIn(readFileSync(file, 'utf8'))) h2Codes.add(code);
    }
    const catalogue = new Set<string>([...SWITCHYARD_ERROR_CODES, ...h2Codes]);
    const documented = readmeCodes();
    assert.equal(new Set(documented).size, documented.length, 'a code appears twice in the table');
    assert.deepEqual([...documented].sort(), [...catalogue].sort());
  });

  it('has every SWY_ERR_ code used in the shipped source in the catalogue', () => {
    const known = new Set<string>(SWITCHYARD_ERROR_CODES);
    for (const folder of SHIPPED.filter((f) => f !== 'h2')) {
      for (const file of sourceFiles(join(ROOT, folder))) {
        for (const code of codesIn(readFileSync(file, 'utf8'))) {
          assert.ok(known.has(code), `${file}: ${code} is not in SWITCHYARD_ERROR_CODES`);
        }
      }
    }
  });

  it('lists no code twice and only SWY_ERR_ codes', () => {
    assert.equal(new Set(SWITCHYARD_ERROR_CODES).size, SWITCHYARD_ERROR_CODES.length);
    for (const code of SWITCHYARD_ERROR_CODES) assert.match(code, /^SWY_ERR_[A-Z0-9_]+$/);
  });
});

describe('SwitchyardError brand', () => {
  /** The compiled common/errors.js evaluated in a fresh vm realm: a second copy of the class. */
  function foreignClass(): typeof SwitchyardError {
    const source = readFileSync(join(ROOT, 'dist', 'common', 'errors.js'), 'utf8')
      .replace(/^export /gm, '')
      .replace(/^\/\/# sourceMappingURL=.*$/m, '');
    const context = vm.createContext({});
    return vm.runInContext(`${source}\nSwitchyardError`, context) as typeof SwitchyardError;
  }

  it('recognises an error made in another realm, where instanceof does not', () => {
    const Foreign = foreignClass();
    assert.notEqual(Foreign, SwitchyardError);
    const foreign = new Foreign('SWY_ERR_LISTEN', 'cannot listen');
    assert.equal(foreign instanceof SwitchyardError, false);
    assert.equal(foreign instanceof Error, false, 'the other realm has its own Error');
    assert.equal(SwitchyardError.is(foreign), true);
    assert.equal(foreign.code, 'SWY_ERR_LISTEN');
    // And the other way round: the foreign copy recognises ours.
    assert.equal(Foreign.is(new ConfigError('SWY_ERR_CONFIG_READ', 'a.yaml', [])), true);
  });

  it('says false for lookalikes and non-objects', () => {
    const lookalike = Object.assign(new Error('x'), { code: 'SWY_ERR_LISTEN' });
    for (const value of [lookalike, null, undefined, 'SWY_ERR_LISTEN', 42, {}]) {
      assert.equal(SwitchyardError.is(value), false, typeof value);
    }
  });

  it('brands every subclass, with its own name and code', () => {
    const errors = [
      new SwitchyardError('SWY_ERR_CONNECT_FAILED', 'x'),
      new ConfigError('SWY_ERR_CONFIG_INVALID', 'a.yaml', []),
      new ResolutionError('SWY_ERR_RESOLVE_TRANSIENT', 'dns:///a', 'timeout'),
      new TargetError('bogus://x', 'unknown scheme'),
      new ResolverOptionsError('dns:///a', [{ path: 'dns.minRefreshMs', message: 'too low' }]),
      new BalancerError('SWY_ERR_UNKNOWN_POLICY', 'no such policy'),
      new UsageError('--workers: bad'),
    ];
    const names = errors.map((e) => e.name);
    assert.deepEqual(names, [
      'SwitchyardError',
      'ConfigError',
      'ResolutionError',
      'TargetError',
      'ResolverOptionsError',
      'BalancerError',
      'UsageError',
    ]);
    for (const err of errors) {
      assert.ok(err instanceof SwitchyardError, err.name);
      assert.ok(SwitchyardError.is(err), err.name);
      assert.ok(SWITCHYARD_ERROR_CODES.includes(err.code), `${err.name}: ${err.code}`);
      // The brand lives on the prototype: nothing to copy, nothing in JSON or Object.keys.
      assert.equal(Object.getOwnPropertySymbols(err).length, 0, err.name);
    }
    assert.equal(errors[3].code, 'SWY_ERR_BAD_TARGET');
    assert.equal(errors[4].code, 'SWY_ERR_BAD_RESOLVER_OPTIONS');
    assert.equal(errors[6].code, 'SWY_ERR_USAGE');
  });
});

describe('cause', () => {
  it('is kept by every class that takes one', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const errors = [
      new SwitchyardError('SWY_ERR_CONNECT_REFUSED', 'refused', { cause }),
      new ConfigError('SWY_ERR_CONFIG_READ', 'a.yaml', [], { cause }),
      new ResolutionError('SWY_ERR_RESOLVE_TRANSIENT', 'dns:///a', 'timeout', { cause }),
      new BalancerError('SWY_ERR_BAD_POLICY_SETTINGS', 'bad', [], { cause }),
    ];
    for (const err of errors) assert.equal(err.cause, cause, err.name);
    assert.equal('cause' in new SwitchyardError('SWY_ERR_LISTEN', 'x'), false);
  });
});
