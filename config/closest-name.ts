// "Did you mean …?" for misspelt keys and names in the config: the nearest known name by edit
// distance, a swap of neighbouring letters counting as one edit ("adress" → "address").
// (config/ stands alone, so it keeps its own copy rather than borrowing the balancer's.)

function distance(a: string, b: string): number {
  // rows[i][j]: edits turning a[0..i) into b[0..j); only the last three rows are kept.
  let twoBack: number[] = [];
  let oneBack = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = oneBack[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      let best = Math.min(oneBack[j] + 1, row[j - 1] + 1, substitute);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, twoBack[j - 2] + 1);
      }
      row.push(best);
    }
    twoBack = oneBack;
    oneBack = row;
  }
  return oneBack[b.length];
}

/**
 * The candidate nearest to `input`, ignoring case and treating `-` and `_` alike; undefined
 * when even the nearest needs more edits than a third of the input's length.
 */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  const fold = (s: string) => s.toLowerCase().replaceAll('-', '_');
  const wanted = fold(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(wanted, fold(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(wanted.length / 3)) ? best : undefined;
}

/** ` (did you mean "x"?)` or "". */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const hint = closestName(input, candidates);
  return hint === undefined ? '' : ` (did you mean "${hint}"?)`;
}
