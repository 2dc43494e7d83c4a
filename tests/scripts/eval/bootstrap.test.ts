import { describe, expect, it } from 'vitest';
import { bootstrapMean, bootstrapPairedDifference, significant } from '../../../scripts/eval/bootstrap.ts';
import type { DialogueRecord } from '../../../scripts/eval/report.ts';
import { evalStats } from '../../../scripts/eval/stats.ts';

/** n values: the first `ones` are 1, the rest 0. */
const bernoulli = (n: number, ones: number) => Array.from({ length: n }, (_, i) => (i < ones ? 1 : 0));

describe('bootstrap confidence intervals', () => {
  it('a constant sample has a zero-width interval at its value', () => {
    expect(bootstrapMean([0.3, 0.3, 0.3, 0.3])).toEqual({ estimate: 0.3, low: 0.3, high: 0.3 });
  });

  it('matches the normal approximation for a proportion of 0.5 over 400 samples', () => {
    const ci = bootstrapMean(bernoulli(400, 200), { resamples: 4000 });
    // Standard error sqrt(0.25 / 400) = 0.025: the 95 % interval is about 0.5 ± 0.049.
    expect(ci.estimate).toBe(0.5);
    expect(ci.low).toBeGreaterThan(0.44);
    expect(ci.low).toBeLessThan(0.46);
    expect(ci.high).toBeGreaterThan(0.54);
    expect(ci.high).toBeLessThan(0.56);
  });

  it('paired differences: identical conditions are not significant, a real shift is', () => {
    const a = bernoulli(200, 120);
    const same = bootstrapPairedDifference(a, a);
    expect(same).toEqual({ estimate: 0, low: 0, high: 0 });
    expect(significant(same)).toBe(false);
    // b loses 30 of a's hits: a − b = 0.15, clearly above zero.
    const b = a.map((x, i) => (i < 30 ? 0 : x));
    const shift = bootstrapPairedDifference(a, b);
    expect(shift.estimate).toBeCloseTo(0.15, 10);
    expect(shift.low).toBeGreaterThan(0.09);
    expect(significant(shift)).toBe(true);
    // Three flips each way over 200: no evidence of a difference.
    const c = a.map((x, i) => (i < 3 ? 0 : i >= 120 && i < 123 ? 1 : x));
    expect(significant(bootstrapPairedDifference(a, c))).toBe(false);
  });

  it('rejects unpaired or empty samples', () => {
    expect(() => bootstrapMean([])).toThrow(/at least one/);
    expect(() => bootstrapPairedDifference([1], [1, 0])).toThrow(/differ in length/);
  });
});

describe('evalStats over seeds', () => {
  const record = (condition: string, target: string, raw: number[]): DialogueRecord => ({
    condition,
    target,
    dialogueId: `${condition}-${target}`,
    foundAt: null,
    raw,
    unshown: raw,
    turns: [],
    errors: [],
  });

  it('pairs dialogues by seed and target and uses cumulative raw-rank hits', () => {
    const runs = [1, 2].map((seed) => ({
      seed,
      records: ['a', 'b'].flatMap((t) => [
        record('visual', t, [50, 3, 40]),
        record('verbal', t, seed === 1 ? [50, 50, 50] : [50, 3, 3]),
      ]),
    }));
    const stats = evalStats(runs);
    expect(stats.units).toBe(4);
    expect(stats.reference).toBe('visual');
    // Found at round 1 stays found at round 2 (cumulative).
    expect(stats.conditions.visual?.hits.map((h) => h.estimate)).toEqual([0, 1, 1]);
    expect(stats.conditions.verbal?.hits.map((h) => h.estimate)).toEqual([0, 0.5, 0.5]);
    expect(stats.conditions.verbal?.versus?.[1]?.estimate).toBe(-0.5);
    expect(stats.conditions.visual?.versus).toBeUndefined();
  });
});
