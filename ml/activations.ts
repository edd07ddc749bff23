/** The output functions shared by the trainers: sigmoid and softmax, in overflow-free forms. */

/** 1 / (1 + e^-z), without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Softmax of `scores[from..from+k)` into `out[at..at+k)` (the two may be the same array and place);
 * returns the log-sum-exp of the scores, which log-loss computations need.
 */
export function softmaxInto(
  scores: Float64Array,
  from: number,
  k: number,
  out: Float64Array,
  at: number,
): number {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, scores[from + c] as number);
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp((scores[from + c] as number) - max);
    out[at + c] = e;
    sum += e;
  }
  for (let c = 0; c < k; c++) out[at + c] = (out[at + c] as number) / sum;
  return max + Math.log(sum);
}
