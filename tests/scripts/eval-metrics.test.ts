import { describe, expect, it } from 'vitest';
import {
  bestSoFar,
  bri,
  briOf,
  hitsAtK,
  meanRank,
  medianRank,
  rankOf,
  recallAtK,
  summarize,
} from '../../scripts/eval/metrics.ts';

/** Three targets over rounds 0..3 (0-based ranks). */
const RANKS = [
  [12, 7, 3, 9],
  [0, 4, 4, 4],
  [30, 30, 2, 1],
];

describe('eval metrics on hand-computed cases', () => {
  it('best rank so far', () => {
    expect(bestSoFar([12, 7, 3, 9])).toEqual([12, 7, 3, 3]);
    expect(bestSoFar([30, 30, 2, 1])).toEqual([30, 30, 2, 1]);
  });

  it('Hits@K is cumulative: once found, stays found', () => {
    expect(hitsAtK(RANKS, 1)).toEqual([1 / 3, 1 / 3, 1 / 3, 1 / 3]);
    expect(hitsAtK(RANKS, 5)).toEqual([1 / 3, 1 / 3, 1, 1]);
    expect(hitsAtK(RANKS, 10)).toEqual([1 / 3, 2 / 3, 1, 1]);
  });

  it('Recall@K looks at that round alone', () => {
    // Round 3: target 1 fell back to rank 9, so Recall@5 drops while Hits@5 stays.
    expect(recallAtK(RANKS, 5)).toEqual([1 / 3, 1 / 3, 1, 2 / 3]);
    expect(recallAtK(RANKS, 10)).toEqual([1 / 3, 2 / 3, 1, 1]);
  });

  it('BRI is the per-round trapezoid of ln(best rank + 1), averaged over targets', () => {
    const l = (x: number) => Math.log(x + 1);
    // b = 12, 7, 3, 3 → ½[l12 + l7] + ½[l7 + l3] + ½[l3 + l3], over T = 3
    const first = ((l(12) + l(7)) / 2 + (l(7) + l(3)) / 2 + (l(3) + l(3)) / 2) / 3;
    const third = ((l(30) + l(30)) / 2 + (l(30) + l(2)) / 2 + (l(2) + l(1)) / 2) / 3;
    expect(briOf(RANKS[0] as number[])).toBeCloseTo(first, 12);
    expect(briOf(RANKS[1] as number[])).toBe(0);
    expect(briOf(RANKS[2] as number[])).toBeCloseTo(third, 12);
    expect(bri(RANKS)).toBeCloseTo((first + 0 + third) / 3, 12);
    // Uses the best rank so far, not the round's rank: a worse later round changes nothing.
    expect(briOf([5, 0, 40])).toBeCloseTo((Math.log(6) / 2 + 0) / 2, 12);
  });

  it('BRI of round 0 alone is ln(r0 + 1)', () => {
    expect(briOf([9])).toBeCloseTo(Math.log(10), 12);
    expect(() => briOf([])).toThrow(/round 0/);
  });

  it('mean and median rank per round', () => {
    expect(meanRank(RANKS)).toEqual([14, 41 / 3, 3, 14 / 3]);
    expect(medianRank(RANKS)).toEqual([12, 7, 3, 4]);
  });

  it('refuses targets with different numbers of rounds', () => {
    expect(() => hitsAtK([[1, 2], [3]], 10)).toThrow(/same number of rounds/);
  });

  it('summarize bundles every metric', () => {
    const m = summarize(RANKS);
    expect(m.targets).toBe(3);
    expect(m.hits['10']).toEqual(hitsAtK(RANKS, 10));
    expect(m.recall['1']).toEqual(recallAtK(RANKS, 1));
    expect(m.bri).toBeCloseTo(bri(RANKS), 12);
    expect(m.medianRank).toEqual([12, 7, 3, 4]);
  });

  it('rank of a target in a full ranking, raw and among the unshown', () => {
    const ranking = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }));
    expect(rankOf(ranking, 'd')).toEqual({ raw: 3, unshown: 3 });
    expect(rankOf(ranking, 'd', new Set(['b', 'e']))).toEqual({ raw: 3, unshown: 2 });
    expect(rankOf(ranking, 'a', new Set(['b']))).toEqual({ raw: 0, unshown: 0 });
    // A target already shown is no longer a candidate; an absent one has no rank.
    expect(rankOf(ranking, 'b', new Set(['b']))).toEqual({ raw: 1, unshown: -1 });
    expect(rankOf(ranking, 'z')).toEqual({ raw: -1, unshown: -1 });
  });
});
