import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRouter, loadRouterModel } from '../../bots/router.ts';
import type { RouteInput, RouteSignals } from '../../core/ports.ts';
import {
  AlwaysRouter,
  contentWords,
  HeuristicRouter,
  LearnedRouter,
  NeverRouter,
  queryChange,
  RandomRouter,
  ROUTER_FEATURES,
  type RouterModel,
  routerFeatures,
  scoreShape,
} from '../../core/router.ts';

const SIGNALS: RouteSignals = {
  round: 2,
  hasPicture: true,
  queryChange: 0.1,
  lastChange: 0.1,
  roundsSincePicture: 1,
  drawings: 1,
  margin: 0.02,
  entropy: 0.8,
  rejectedLast: false,
};
const input = (s: Partial<RouteSignals> = {}): RouteInput => ({
  key: 'test:r',
  query: 'a red circle',
  seed: 1,
  signals: { ...SIGNALS, ...s },
});

const model = (weights: number[], threshold = 0.5): RouterModel => ({
  kind: 'logistic',
  features: [...ROUTER_FEATURES],
  weights,
  threshold,
});

describe('signals', () => {
  it('content words drop stop words, numbers and plural s', () => {
    expect([...contentWords('Two small red circles at the top, and 3 stars!')]).toEqual([
      'small',
      'red',
      'circle',
      'top',
      'star',
    ]);
  });

  it('query change is 1 − Jaccard of content words', () => {
    expect(queryChange('a red circle', 'a red circle')).toBe(0);
    expect(queryChange('a red circle', 'a blue square')).toBe(1);
    // {red, circle} vs {red, circle, teal, background}: 2 shared of 4.
    expect(queryChange('a red circle', 'a red circle on a teal background')).toBeCloseTo(0.5);
  });

  it('score shape: margin of the top two, entropy 1 for equal scores and near 0 for one clear winner', () => {
    expect(scoreShape([0.9, 0.9, 0.9]).entropy).toBeCloseTo(1);
    expect(scoreShape([0.9, 0.5, 0.5]).entropy).toBeLessThan(0.01);
    expect(scoreShape([0.9, 0.7]).margin).toBeCloseTo(0.2);
  });
});

describe('routers on fixed signals', () => {
  it('always draws; never answers in words but draws when there is nothing to search with', () => {
    expect(new AlwaysRouter().decide().decision).toBe('draw');
    expect(new NeverRouter().decide(input()).decision).toBe('text');
    expect(new NeverRouter().decide(input({ hasPicture: false })).decision).toBe('draw');
    // With a text tower the words alone can search.
    expect(new NeverRouter().decide(input({ hasPicture: false, textImageAgreement: 0 })).decision).toBe(
      'text',
    );
  });

  it('heuristic: small changes in words, a large change or a long stretch without a picture drawn', () => {
    const h = new HeuristicRouter({ minChange: 0.3, maxTextRounds: 3 });
    expect(h.decide(input({ queryChange: 0.1 })).decision).toBe('text');
    expect(h.decide(input({ queryChange: 0.35 })).decision).toBe('draw');
    expect(h.decide(input({ queryChange: 0.1, roundsSincePicture: 3 })).decision).toBe('draw');
    expect(h.decide(input({ queryChange: 0, roundsSincePicture: 5 })).decision).toBe('text');
    expect(h.decide(input({ rejectedLast: true })).decision).toBe('draw');
    expect(h.decide(input({ queryChange: 0.9, budgetLeft: 0 })).decision).toBe('text');
    expect(h.decide(input({ hasPicture: false })).reason).toMatch(/no picture yet/);
  });

  it('learned: draws when the logistic score passes the threshold', () => {
    const weights = ROUTER_FEATURES.map((f) => (f === 'bias' ? -2 : f === 'queryChange' ? 8 : 0));
    const r = new LearnedRouter(model(weights));
    expect(r.decide(input({ queryChange: 0.1 })).decision).toBe('text'); // σ(−1.2) = 0.23
    expect(r.decide(input({ queryChange: 0.5 })).decision).toBe('draw'); // σ(2) = 0.88
    expect(r.probability({ ...SIGNALS, queryChange: 0.25 })).toBeCloseTo(0.5);
    expect(routerFeatures(SIGNALS)).toHaveLength(ROUTER_FEATURES.length);
  });

  it('random draws at its rate, the same way for the same thread and round', () => {
    const r = new RandomRouter(0.3);
    let draws = 0;
    for (let i = 0; i < 2000; i++)
      if (r.decide({ ...input({ round: 1 + (i % 5) }), key: `k${i}` }).decision === 'draw') draws++;
    expect(draws / 2000).toBeGreaterThan(0.26);
    expect(draws / 2000).toBeLessThan(0.34);
    expect(r.decide(input()).decision).toBe(r.decide(input()).decision);
  });
});

describe('the learned model file', () => {
  const write = async (content: unknown) => {
    const path = join(await mkdtemp(join(tmpdir(), 'genir-router-')), 'router.json');
    await writeFile(path, JSON.stringify(content));
    return path;
  };

  it('loads a model with the features core computes', async () => {
    const path = await write(model(ROUTER_FEATURES.map(() => 0.1)));
    const router = buildRouter({ ROUTER: 'learned', ROUTER_MODEL: path });
    expect(router.id).toBe('learned');
    expect(loadRouterModel(path).features).toEqual([...ROUTER_FEATURES]);
  });

  it('refuses a model trained on another feature list, naming both lists', async () => {
    const features = [...ROUTER_FEATURES.slice(0, -1), 'captionLength'];
    const path = await write({ ...model(features.map(() => 0.1)), features });
    expect(() => buildRouter({ ROUTER: 'learned', ROUTER_MODEL: path })).toThrow(
      /trained on features \[.*captionLength\].*retrain/,
    );
  });

  it('refuses a missing file, a file that is not a model, and wrong weights', async () => {
    expect(() => buildRouter({ ROUTER: 'learned', ROUTER_MODEL: '/nonexistent/router.json' })).toThrow(
      /ROUTER=learned: ROUTER_MODEL \/nonexistent\/router.json: cannot read it/,
    );
    const notModel = await write({ weights: 'x' });
    expect(() => buildRouter({ ROUTER: 'learned', ROUTER_MODEL: notModel })).toThrow(/not a router model/);
    expect(() => new LearnedRouter(model([1, 2]))).toThrow(/needs 11 finite weights/);
  });

  it('the committed model loads', () => {
    expect(buildRouter({ ROUTER: 'learned', ROUTER_MODEL: 'models/router-v1.json' }).id).toBe('learned');
  });
});
