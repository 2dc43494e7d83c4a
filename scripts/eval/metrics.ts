/**
 * The retrieval metrics of GenIR / ChatIR / PlugIR over per-round target ranks.
 *
 * Input everywhere: `ranks[i][t]` = the 0-based rank r_t of target i in round t (t = 0..T), all
 * targets with the same number of rounds. Round 0 is the initial description, rounds 1..T the
 * refinements.
 */
import { percentile } from '../stats.ts';

export const HIT_KS = [1, 5, 10] as const;

function rounds(ranks: readonly (readonly number[])[]): number {
  const n = ranks[0]?.length ?? 0;
  for (const r of ranks) {
    if (r.length !== n) throw new Error(`every target needs the same number of rounds (${n} vs ${r.length})`);
  }
  return n;
}

/** b_t = min over s ≤ t of r_s: the best rank reached by round t. */
export function bestSoFar(ranks: readonly number[]): number[] {
  const out: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (const r of ranks) {
    best = Math.min(best, r);
    out.push(best);
  }
  return out;
}

/** Hits@K(t): share of targets with min_{s≤t} r_s < K (cumulative: once found, stays found). */
export function hitsAtK(ranks: readonly (readonly number[])[], k: number): number[] {
  const n = rounds(ranks);
  if (ranks.length === 0) return [];
  const hits = new Array<number>(n).fill(0);
  for (const target of ranks) {
    bestSoFar(target).forEach((b, t) => {
      if (b < k) hits[t] = (hits[t] as number) + 1;
    });
  }
  return hits.map((h) => h / ranks.length);
}

/** Recall@K(t): share of targets with r_t < K (that round alone). */
export function recallAtK(ranks: readonly (readonly number[])[], k: number): number[] {
  const n = rounds(ranks);
  if (ranks.length === 0) return [];
  return Array.from({ length: n }, (_, t) => ranks.filter((r) => (r[t] as number) < k).length / ranks.length);
}

/**
 * Best log Rank Integral of one target: (1/T) · Σ_{t=0}^{T-1} ½[ln(b_t + 1) + ln(b_{t+1} + 1)], the
 * trapezoid area under ln(best rank + 1) over the T refinement rounds, per round. Lower is better;
 * 0 means found at rank 0 from round 0. With a single round (T = 0) it is ln(r_0 + 1).
 */
export function briOf(ranks: readonly number[]): number {
  if (ranks.length === 0) throw new Error('BRI needs at least round 0');
  const b = bestSoFar(ranks).map((x) => Math.log(x + 1));
  const T = b.length - 1;
  if (T === 0) return b[0] as number;
  let sum = 0;
  for (let t = 0; t < T; t++) sum += ((b[t] as number) + (b[t + 1] as number)) / 2;
  return sum / T;
}

/** BRI of a query set: the mean of the per-target BRI. */
export function bri(ranks: readonly (readonly number[])[]): number {
  rounds(ranks);
  if (ranks.length === 0) return Number.NaN;
  return ranks.reduce((s, r) => s + briOf(r), 0) / ranks.length;
}

/** Mean of r_t per round. */
export function meanRank(ranks: readonly (readonly number[])[]): number[] {
  const n = rounds(ranks);
  return Array.from({ length: n }, (_, t) => ranks.reduce((s, r) => s + (r[t] as number), 0) / ranks.length);
}

/** Median of r_t per round. */
export function medianRank(ranks: readonly (readonly number[])[]): number[] {
  const n = rounds(ranks);
  return Array.from({ length: n }, (_, t) =>
    percentile(
      ranks.map((r) => r[t] as number),
      50,
    ),
  );
}

export interface MetricSet {
  targets: number;
  /** Cumulative Hits@K per round, K = 1, 5, 10. */
  hits: Record<string, number[]>;
  /** Per-round Recall@K, K = 1, 5, 10. */
  recall: Record<string, number[]>;
  bri: number;
  meanRank: number[];
  medianRank: number[];
}

/** Every metric at once, for one condition's ranks. */
export function summarize(ranks: readonly (readonly number[])[]): MetricSet {
  return {
    targets: ranks.length,
    hits: Object.fromEntries(HIT_KS.map((k) => [String(k), hitsAtK(ranks, k)])),
    recall: Object.fromEntries(HIT_KS.map((k) => [String(k), recallAtK(ranks, k)])),
    bri: bri(ranks),
    meanRank: meanRank(ranks),
    medianRank: medianRank(ranks),
  };
}

/**
 * Where the target stands in a full ranking of the gallery (best first): its raw 0-based rank,
 * and its rank among the candidates not in `shown` (what seen-exclusion leaves). -1 when absent.
 */
export function rankOf(
  ranking: readonly { id: string }[],
  target: string,
  shown: ReadonlySet<string> = new Set(),
): { raw: number; unshown: number } {
  let unshown = 0;
  for (let i = 0; i < ranking.length; i++) {
    const id = (ranking[i] as { id: string }).id;
    if (id === target) return { raw: i, unshown: shown.has(target) ? -1 : unshown };
    if (!shown.has(id)) unshown++;
  }
  return { raw: -1, unshown: -1 };
}
