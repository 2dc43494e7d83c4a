import { describe, expect, it } from 'vitest';
import { activeFeedback, applyFeedback, feedbackSets, fuseBase, seenAssets } from '../../core/ranking.ts';
import type { Round } from '../../core/types.ts';
import { dot } from '../../core/vector.ts';

const v = (...xs: number[]) => Float32Array.from(xs);
const round = (matches: string[], feedback: Round['feedback'] = []): Round => ({
  id: 'r',
  index: 0,
  cause: 'find',
  userText: '',
  query: '',
  generated: null,
  baseVector: [],
  encoderId: 'e',
  matches: matches.map((assetId) => ({ assetId, score: 0 })),
  feedback,
  notes: [],
  timings: {},
  userId: 'u',
  createdAt: 0,
});

describe('ranking', () => {
  it('fuses image and text vectors by weight, image only at weight 0', () => {
    const img = v(1, 0);
    const txt = v(0, 1);
    expect(Array.from(fuseBase(img, txt, 0))).toEqual([1, 0]);
    const half = fuseBase(img, txt, 0.5);
    expect(half[0]).toBeCloseTo(Math.SQRT1_2);
    expect(half[1]).toBeCloseTo(Math.SQRT1_2);
    expect(Array.from(fuseBase(v(2, 0), null, 0.5))).toEqual([1, 0]);
  });

  it('moves toward liked and away from rejected vectors (Rocchio), normalized', () => {
    const q = v(1, 0, 0);
    const liked = [v(0, 1, 0)];
    const rejected = [v(0, 0, 1)];
    const out = applyFeedback(q, liked, rejected, { positiveWeight: 0.5, negativeWeight: 0.5 });
    expect(dot(out, out)).toBeCloseTo(1);
    expect(dot(out, liked[0] as Float32Array)).toBeGreaterThan(0);
    expect(dot(out, rejected[0] as Float32Array)).toBeLessThan(0);
    expect(Array.from(applyFeedback(q, [], [], { positiveWeight: 1, negativeWeight: 1 }))).toEqual([1, 0, 0]);
  });

  it('collects feedback across rounds, the latest verdict on an asset winning', () => {
    const rounds = [
      round(['a', 'b'], [{ kind: 'not-these', assetIds: ['a', 'b'], at: 1 }]),
      round(['c'], [{ kind: 'more-like', assetIds: ['a'], at: 2 }]),
      round(['d'], [{ kind: 'picked', assetIds: ['d'], at: 3 }]),
    ];
    expect(feedbackSets(rounds)).toEqual({ liked: ['a'], rejected: ['b'] });
    expect([...seenAssets(rounds)].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps only the feedback said since the last new picture', () => {
    const drawn = { generatorId: 'g', seed: 1, image: 'x.png' };
    const rounds = [
      { ...round(['a'], [{ kind: 'more-like', assetIds: ['a'], at: 1 }]), generated: drawn },
      { ...round(['b'], [{ kind: 'not-these', assetIds: ['b'], at: 2 }]), generated: drawn },
      round(['c'], [{ kind: 'more-like', assetIds: ['c'], at: 3 }]),
    ];
    expect(activeFeedback(rounds)).toEqual({ liked: ['c'], rejected: ['b'] });
    expect(activeFeedback(rounds.slice(0, 1))).toEqual({ liked: ['a'], rejected: [] });
  });
});
