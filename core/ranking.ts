import type { Round } from './types.ts';
import { mean, normalize, weightedSum } from './vector.ts';

export interface RankingOptions {
  /** Weight of the query-text vector against the synthetic-image vector (0 = image only, as in GenIR). */
  textWeight: number;
  /** Rocchio weights for "more like" (toward) and "not these" (away). */
  positiveWeight: number;
  negativeWeight: number;
  /** Do not show again what this thread has already shown. */
  seenExclusion: boolean;
}

export const DEFAULT_RANKING: RankingOptions = {
  textWeight: 0,
  positiveWeight: 0.7,
  negativeWeight: 0.3,
  seenExclusion: true,
};

/** The round's base vector: synthetic image, optionally blended with the query text. */
export function fuseBase(image: Float32Array, text: Float32Array | null, textWeight: number): Float32Array {
  if (!text || textWeight <= 0) return normalize(image);
  return normalize(
    weightedSum(
      [
        { v: normalize(image), w: 1 - textWeight },
        { v: normalize(text), w: textWeight },
      ],
      image.length,
    ),
  );
}

export interface FeedbackSets {
  liked: string[];
  rejected: string[];
}

/**
 * The "more like" / "not these" that still apply: those said since the last new picture. A new
 * drawing (a correction, a regenerate, an upload) restates what the person wants, and old
 * feedback about matches of an earlier picture would pull the search away from it (measured
 * with `genir eval`: keeping it for the whole thread cost 10+ points of Hits@10).
 */
export function activeFeedback(rounds: readonly Round[]): FeedbackSets {
  let start = rounds.length - 1;
  while (start > 0 && (rounds[start] as Round).generated === null) start--;
  return feedbackSets(rounds.slice(Math.max(0, start)));
}

/** Every "more like" and "not these" said in these rounds (latest wins for an asset). */
export function feedbackSets(rounds: readonly Round[]): FeedbackSets {
  const verdict = new Map<string, 'liked' | 'rejected'>();
  for (const round of rounds) {
    for (const f of round.feedback) {
      if (f.kind === 'picked') continue;
      for (const id of f.assetIds) verdict.set(id, f.kind === 'more-like' ? 'liked' : 'rejected');
    }
  }
  const liked: string[] = [];
  const rejected: string[] = [];
  for (const [id, v] of verdict) (v === 'liked' ? liked : rejected).push(id);
  return { liked, rejected };
}

/** Rocchio: q' = q + β·mean(liked) − γ·mean(rejected), normalized. */
export function applyFeedback(
  base: Float32Array,
  liked: readonly Float32Array[],
  rejected: readonly Float32Array[],
  options: Pick<RankingOptions, 'positiveWeight' | 'negativeWeight'>,
): Float32Array {
  const dim = base.length;
  const terms = [{ v: base, w: 1 }];
  if (liked.length > 0) terms.push({ v: mean(liked, dim), w: options.positiveWeight });
  if (rejected.length > 0) terms.push({ v: mean(rejected, dim), w: -options.negativeWeight });
  return normalize(weightedSum(terms, dim));
}

/** Assets shown in earlier rounds and not picked: excluded from new rounds when seen-exclusion is on. */
export function seenAssets(rounds: readonly Round[]): Set<string> {
  const seen = new Set<string>();
  for (const r of rounds) for (const m of r.matches) seen.add(m.assetId);
  return seen;
}
