/**
 * The feedback router: before a round that could draw, decide whether a new picture is worth a
 * generator call (`draw`) or whether the refined query and the matches are enough (`text`).
 * Every router sees the same signals, all known to the bot without the target (RouteSignals);
 * the learned router sees them as the numeric features below, in this order.
 */
import type { FeedbackRouter, RouteDecision, RouteInput, RouteSignals } from './ports.ts';
import { createRng, hashString } from './random.ts';
import type { Round } from './types.ts';

/** Words that carry no content (compared queries and drawings ignore them). */
const STOPWORDS = new Set(
  (
    'a an the and or of on in at to with without by for from is are was were be it its this that ' +
    'there here no not some any all one two three four five six several many each both very also ' +
    'only just but than then so as into onto over under near next like please i me my we you your ' +
    'they them their he she his her has have had do does did make made want see show'
  ).split(' '),
);

/** The content words of a text: lower case, no stop words, plural "s" dropped. */
export function contentWords(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const out = new Set<string>();
  for (const w of words) {
    if (STOPWORDS.has(w) || /^\d+$/.test(w)) continue;
    out.add(w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);
  }
  return out;
}

/** 1 − Jaccard similarity of the two texts' content words (0 = same words, 1 = none shared). */
export function queryChange(before: string, after: string): number {
  const a = contentWords(before);
  const b = contentWords(after);
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return 1 - shared / (a.size + b.size - shared);
}

/** top-1 minus top-2 score, and the entropy (0..1, normalized) of a softmax over the top scores. */
export function scoreShape(
  scores: readonly number[],
  temperature = 0.05,
): { margin: number; entropy: number } {
  if (scores.length < 2) return { margin: 1, entropy: 0 };
  const margin = (scores[0] as number) - (scores[1] as number);
  const top = Math.max(...scores);
  const weights = scores.map((s) => Math.exp((s - top) / temperature));
  const sum = weights.reduce((s, w) => s + w, 0);
  let h = 0;
  for (const w of weights) {
    const p = w / sum;
    if (p > 0) h -= p * Math.log(p);
  }
  return { margin, entropy: h / Math.log(scores.length) };
}

/** Share of two top-K lists in common (0..1). */
export function overlap(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const set = new Set(a);
  return b.filter((id) => set.has(id)).length / Math.max(a.length, b.length);
}

/** The last round with a new picture (drawn or uploaded), or undefined. */
export function lastPictured(rounds: readonly Round[]): Round | undefined {
  for (let i = rounds.length - 1; i >= 0; i--) if ((rounds[i] as Round).generated) return rounds[i];
  return undefined;
}

/**
 * The signals of the round about to run, from the thread so far. `textTop` is what a text-only
 * search would return (where the encoder has a text tower), to compare with the last matches.
 */
export function routeSignals(
  rounds: readonly Round[],
  query: string,
  options: { textTop?: string[]; budgetLeft?: number } = {},
): RouteSignals {
  const last = rounds.at(-1);
  const pictured = lastPictured(rounds);
  const { margin, entropy } = scoreShape(last?.matches.map((m) => m.score) ?? []);
  const lastFeedback = last?.feedback.at(-1)?.kind;
  return {
    round: rounds.length,
    hasPicture: pictured !== undefined,
    queryChange: pictured ? queryChange(pictured.query, query) : 1,
    lastChange: last ? queryChange(last.query, query) : 1,
    roundsSincePicture: pictured ? rounds.length - pictured.index : rounds.length,
    drawings: rounds.filter((r) => r.generated && r.generated.generatorId !== 'upload').length,
    margin,
    entropy,
    ...(options.textTop && last
      ? {
          textImageAgreement: overlap(
            options.textTop,
            last.matches.map((m) => m.assetId),
          ),
        }
      : {}),
    rejectedLast: lastFeedback === 'not-these',
    ...(options.budgetLeft !== undefined ? { budgetLeft: options.budgetLeft } : {}),
  };
}

/** The learned router's inputs, by name and in order; a model trained on other features is refused. */
export const ROUTER_FEATURES = [
  'bias',
  'round',
  'queryChange',
  'lastChange',
  'roundsSincePicture',
  'drawings',
  'margin',
  'entropy',
  'textImageAgreement',
  'hasTextTower',
  'rejectedLast',
] as const;

export function routerFeatures(s: RouteSignals): number[] {
  const byName: Record<(typeof ROUTER_FEATURES)[number], number> = {
    bias: 1,
    round: s.round,
    queryChange: s.queryChange,
    lastChange: s.lastChange,
    roundsSincePicture: s.roundsSincePicture,
    drawings: s.drawings,
    margin: s.margin,
    entropy: s.entropy,
    textImageAgreement: s.textImageAgreement ?? 0,
    hasTextTower: s.textImageAgreement === undefined ? 0 : 1,
    rejectedLast: s.rejectedLast ? 1 : 0,
  };
  return ROUTER_FEATURES.map((name) => byName[name]);
}

const decided = (decision: RouteDecision['decision'], reason: string): RouteDecision => ({
  decision,
  reason,
});

/** Checks every router shares: without any picture or words to go on, draw; over budget, do not. */
function forced(input: RouteInput): RouteDecision | null {
  const s = input.signals;
  if (!s.hasPicture && s.textImageAgreement === undefined)
    return decided('draw', 'there is no picture yet to search with');
  if (s.budgetLeft !== undefined && s.budgetLeft <= 0)
    return decided('text', 'the drawing budget of this search is used up');
  return null;
}

export class AlwaysRouter implements FeedbackRouter {
  readonly id = 'always';
  decide(): RouteDecision {
    return decided('draw', 'every round is drawn');
  }
}

export class NeverRouter implements FeedbackRouter {
  readonly id = 'never';
  decide(input: RouteInput): RouteDecision {
    return forced(input) ?? decided('text', 'pictures only on request (/draw)');
  }
}

export interface HeuristicRouterOptions {
  /** Draw once the query's content words changed this much since the last picture (1 − Jaccard). */
  minChange: number;
  /** …or once this many rounds passed without a picture while the query changed at all. */
  maxTextRounds: number;
}

/**
 * The documented rule (docs/eval.md, "Routing"), fixed before any measurement: a picture is worth
 * its cost when the description moved far from the last picture — a small correction is
 * shown as words, several accumulate until they change the picture. A person who rejected all
 * matches gets a new picture at once; a long stretch of words gets one too.
 */
export class HeuristicRouter implements FeedbackRouter {
  readonly id = 'heuristic';
  constructor(private readonly options: HeuristicRouterOptions = { minChange: 0.3, maxTextRounds: 3 }) {}

  decide(input: RouteInput): RouteDecision {
    const early = forced(input);
    if (early) return early;
    const s = input.signals;
    if (s.queryChange === 0) return decided('text', 'the description did not change since the last picture');
    if (s.rejectedLast) return decided('draw', 'none of the last matches was right');
    if (s.queryChange >= this.options.minChange)
      return decided('draw', 'the description changed a lot since the last picture');
    if (s.roundsSincePicture >= this.options.maxTextRounds)
      return decided('draw', `no picture for ${s.roundsSincePicture} rounds`);
    return decided('text', 'a small change since the last picture; shown in words');
  }
}

/** A logistic-regression router's weights (committed JSON, trained by scripts/eval/train-router.ts). */
export interface RouterModel {
  kind: 'logistic';
  features: string[];
  weights: number[];
  /** Draw when the predicted probability that drawing helps is at least this. */
  threshold: number;
  /** How it was trained (data, seeds, sizes), for people reading the file. */
  trainedOn?: unknown;
}

export class LearnedRouter implements FeedbackRouter {
  readonly id = 'learned';
  constructor(private readonly model: RouterModel) {
    const expected = ROUTER_FEATURES.join(',');
    if (model.kind !== 'logistic') throw new Error(`router model kind "${model.kind}" is not supported`);
    if (model.features.join(',') !== expected)
      throw new Error(
        `router model was trained on features [${model.features.join(', ')}], this bot computes [${ROUTER_FEATURES.join(', ')}]; retrain it`,
      );
    if (model.weights.length !== ROUTER_FEATURES.length || model.weights.some((w) => !Number.isFinite(w)))
      throw new Error(`router model needs ${ROUTER_FEATURES.length} finite weights`);
  }

  probability(signals: RouteSignals): number {
    const x = routerFeatures(signals);
    const z = x.reduce((s, v, i) => s + v * (this.model.weights[i] as number), 0);
    return 1 / (1 + Math.exp(-z));
  }

  decide(input: RouteInput): RouteDecision {
    const early = forced(input);
    if (early) return early;
    const p = this.probability(input.signals);
    return p >= this.model.threshold
      ? decided('draw', `a picture likely helps now (p = ${p.toFixed(2)})`)
      : decided('text', `a picture likely adds little now (p = ${p.toFixed(2)})`);
  }
}

/** Draws at a fixed rate, by a hash of thread and round (the eval's "random at the same rate"). */
export class RandomRouter implements FeedbackRouter {
  readonly id: string;
  constructor(
    private readonly rate: number,
    private readonly salt = 'router',
  ) {
    this.id = `random@${rate}`;
  }

  decide(input: RouteInput): RouteDecision {
    const early = forced(input);
    if (early) return early;
    // The hash seeds a generator: FNV's top bits barely move with the last character (the round).
    const u = createRng(hashString(`${this.salt}|${input.key}|${input.signals.round}`))();
    return u < this.rate ? decided('draw', 'random draw') : decided('text', 'random: no picture');
  }
}

export const ROUTER_KINDS = ['always', 'never', 'heuristic', 'learned'] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];
