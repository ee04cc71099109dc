// Settings for the property and fuzz tests: a fixed seed per property (fast-check prints it, with
// the path to the failing case, when a property fails), a bounded number of runs, and a time
// limit after which the runs stop (and pass) so that a busy machine cannot stall the suite.
// FUZZ_SEED and FUZZ_RUNS override them, to replay a failure or to search longer by hand:
//   FUZZ_SEED=123 FUZZ_RUNS=100000 node scripts/run-tests.mjs fuzz
import fc from 'fast-check';

const envSeed = process.env.FUZZ_SEED;
const envRuns = process.env.FUZZ_RUNS;

/** fast-check parameters for a property: `seed` is this property's own unless FUZZ_SEED is set. */
export function fuzzParams<T>(
  seed: number,
  runs: number,
  extra: fc.Parameters<T> = {},
): fc.Parameters<T> {
  return {
    seed: envSeed !== undefined ? Number(envSeed) : seed,
    numRuns: envRuns !== undefined ? Number(envRuns) : runs,
    // 10 s per property: the runs above take well under a second each on 2 idle cores; the limit
    // only matters on a loaded machine, where fewer runs is better than a test timeout.
    interruptAfterTimeLimit: envRuns !== undefined ? undefined : 10_000,
    ...extra,
  };
}

/** node:test options for a fuzz test: a hang (a regular expression gone exponential) fails it. */
export const FUZZ_TEST = { timeout: 60_000 } as const;

/** Strings built mostly from `alphabet`, with an occasional arbitrary character. */
export function stringFrom(alphabet: string, maxLength = 40): fc.Arbitrary<string> {
  const chars = [...alphabet];
  return fc
    .array(
      fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...chars) },
        { weight: 1, arbitrary: fc.string({ maxLength: 1, unit: 'binary' }) },
      ),
      {
        maxLength,
      },
    )
    .map((parts) => parts.join(''));
}

/** Mutations of a text: characters inserted, dropped, replaced, or slices copied elsewhere. */
export function mutated(text: string, alphabet: string, maxEdits = 4): fc.Arbitrary<string> {
  const edit = fc.tuple(
    fc.constantFrom('insert', 'delete', 'replace', 'copy', 'cut'),
    fc.nat(),
    fc.nat(),
    fc.constantFrom(...alphabet),
  );
  return fc.array(edit, { minLength: 1, maxLength: maxEdits }).map((edits) => {
    let out = text;
    for (const [kind, a, b, ch] of edits) {
      const i = out.length === 0 ? 0 : a % (out.length + 1);
      const j = out.length === 0 ? 0 : b % (out.length + 1);
      const [lo, hi] = i <= j ? [i, j] : [j, i];
      switch (kind) {
        case 'insert':
          out = out.slice(0, i) + ch + out.slice(i);
          break;
        case 'delete':
          out = out.slice(0, i) + out.slice(i + 1);
          break;
        case 'replace':
          out = out.slice(0, i) + ch + out.slice(i + 1);
          break;
        case 'copy':
          out = out.slice(0, j) + out.slice(lo, Math.min(hi, lo + 40)) + out.slice(j);
          break;
        case 'cut':
          out = out.slice(0, lo) + out.slice(Math.min(hi, lo + 40));
          break;
      }
    }
    return out;
  });
}
