// "Did you mean …?" for misspelt keys and names in the config: the nearest known name by edit
// distance, a swap of neighbouring letters counting as one edit ("adress" → "address").
// (config/ stands alone, so it keeps its own copy rather than borrowing the balancer's.)

/** Names longer than this get no suggestion: no typo makes a name that long. */
const LONGEST_NAME = 64;

/** Edits turning `a` into `b`, or any number above `max` once it is sure to exceed it. */
function distance(a: string, b: string, max: number): number {
  // rows[i][j]: edits turning a[0..i) into b[0..j); only the last three rows are kept.
  let twoBack: number[] = [];
  let oneBack = Array.from({ length: b.length + 1 }, (_, j) => j);
  let previousMin = 0;
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const substitute = oneBack[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      let best = Math.min(oneBack[j] + 1, row[j - 1] + 1, substitute);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, twoBack[j - 2] + 1);
      }
      row.push(best);
      rowMin = Math.min(rowMin, best);
    }
    // A cell comes from this row or (a transposition) the one before: once both rows are above
    // `max`, every later row is too.
    if (rowMin > max && previousMin > max) return rowMin;
    previousMin = rowMin;
    twoBack = oneBack;
    oneBack = row;
  }
  return oneBack[b.length];
}

const fold = (s: string) => s.toLowerCase().replaceAll('-', '_');

/**
 * The candidate nearest to `input`, ignoring case and treating `-` and `_` alike; undefined
 * when even the nearest needs more edits than a third of the input's length. Candidates whose
 * length alone rules them out cost nothing, so thousands of cluster names are cheap to search.
 */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  if (input.length > LONGEST_NAME) return undefined;
  const wanted = fold(input);
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - input.length) >= bestDistance) continue;
    const d = distance(wanted, fold(candidate), bestDistance - 1);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` or "". */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const hint = closestName(input, candidates);
  return hint === undefined ? '' : ` (did you mean "${hint}"?)`;
}
