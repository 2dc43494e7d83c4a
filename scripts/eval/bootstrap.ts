/**
 * Percentile bootstrap confidence intervals over dialogues: of a mean, and of the paired
 * difference of two conditions' means (the same targets and seeds under both).
 */
import { createRng } from '../../core/random.ts';

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** 95 % (by default) percentile bootstrap CI of the mean of `values`, resampling `resamples` times. */
export function bootstrapMean(
  values: readonly number[],
  options: { resamples?: number; seed?: number; level?: number } = {},
): Interval {
  const n = values.length;
  if (n === 0) throw new Error('bootstrap needs at least one value');
  const B = options.resamples ?? 2000;
  const rng = createRng(options.seed ?? 1);
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(rng() * n)] as number;
    means[b] = sum / n;
  }
  means.sort();
  const alpha = (1 - (options.level ?? 0.95)) / 2;
  const at = (q: number) => means[Math.min(B - 1, Math.max(0, Math.floor(q * B)))] as number;
  return { estimate: values.reduce((s, v) => s + v, 0) / n, low: at(alpha), high: at(1 - alpha) };
}

/** CI of mean(a) − mean(b) for paired values (a[i] and b[i] come from the same dialogue unit). */
export function bootstrapPairedDifference(
  a: readonly number[],
  b: readonly number[],
  options: { resamples?: number; seed?: number; level?: number } = {},
): Interval {
  if (a.length !== b.length) throw new Error(`paired samples differ in length (${a.length} vs ${b.length})`);
  return bootstrapMean(
    a.map((x, i) => x - (b[i] as number)),
    options,
  );
}

/** Whether an interval of a difference excludes zero. */
export const significant = (d: Interval): boolean => d.low > 0 || d.high < 0;
