/**
 * The router conditions of `genir eval` (`router=heuristic`, `router=learned`, `router=oracle`,
 * `router=random@0.3`, `router=never`): the engine decides per round whether to draw, and the
 * user sees the picture of a drawn round, the bot's refined query of a text round.
 *
 * Every decision is logged with its features (the learned router's training data), and with
 * `probe` the two ranks the target would get — drawn, or searched with the last vector — which is
 * also how the oracle (knows the target: an upper bound) decides. Probe drawings go to the
 * generator directly and are not counted as the dialogue's generator calls.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { loadRouterModel } from '../../bots/router.ts';
import type {
  FeedbackRouter,
  ImageEncoder,
  ImageGenerator,
  RouteDecision,
  RouteInput,
  ThreadStore,
  VectorIndex,
} from '../../core/ports.ts';
import { fuseBase } from '../../core/ranking.ts';
import {
  HeuristicRouter,
  LearnedRouter,
  NeverRouter,
  RandomRouter,
  routerFeatures,
} from '../../core/router.ts';
import { decodeThreadKey } from '../../core/thread-key.ts';
import { rankOf } from './metrics.ts';

/** One routing decision as the eval records it. */
export interface RouteLog {
  decision: 'draw' | 'text';
  reason: string;
  features: number[];
  /** The target's raw rank if this round is drawn / answered in words (with `probe`). */
  probe?: { draw: number; text: number };
}

/** The decisions of one message's round, found by async context (dialogues run concurrently). */
export const routeLog = new AsyncLocalStorage<{ routes: RouteLog[]; generatorCalls: number }>();

export const ROUTER_SPECS = ['heuristic', 'learned', 'oracle', 'never', 'random@<rate>'] as const;

/** "router=heuristic" → "heuristic"; null for other condition names. */
export function routerSpecOf(condition: string): string | null {
  const m = /^router=(heuristic|learned|oracle|never|random@(?:0(?:\.\d+)?|1(?:\.0+)?))$/.exec(condition);
  return m ? (m[1] as string) : null;
}

export interface RouterWorld {
  generator: ImageGenerator;
  encoder: ImageEncoder;
  index: VectorIndex;
  threads: ThreadStore;
  gallerySize: number;
  /** The learned router's weights. */
  modelPath: string;
  /** Log what both choices would do to the target's rank (costly: one more drawing per decision). */
  probe: boolean;
}

/** The raw rank of the target with a vector (the eval threads' keys name their target). */
async function rank(
  index: VectorIndex,
  vector: Float32Array,
  key: string,
  gallerySize: number,
): Promise<number> {
  const target = decodeThreadKey(key).parts[0] as string;
  for (const k of [Math.min(gallerySize, 1024), gallerySize]) {
    const found = rankOf(await index.search(vector, k), target, new Set()).raw;
    if (found >= 0) return found;
  }
  return gallerySize;
}

async function counterfactual(
  world: RouterWorld,
  input: RouteInput,
): Promise<{ draw: number; text: number }> {
  const state = await world.threads.load(input.key);
  const last = state?.rounds.at(-1);
  const out = await world.generator.generate(input.query, {
    seed: input.seed,
    signal: AbortSignal.timeout(60_000),
  });
  const [image] = await world.encoder.embedImages([out.png]);
  const drawn = fuseBase(image as Float32Array, null, 0);
  return {
    draw: await rank(world.index, drawn, input.key, world.gallerySize),
    text: last
      ? await rank(world.index, Float32Array.from(last.baseVector), input.key, world.gallerySize)
      : world.gallerySize,
  };
}

/**
 * Knows the target: draws only when the drawing brings the target into the top 10 and words
 * alone would not (greedy, round by round).
 */
class OracleRouter implements FeedbackRouter {
  readonly id = 'oracle';
  constructor(private readonly world: RouterWorld) {}
  async decide(input: RouteInput): Promise<RouteDecision> {
    if (!input.signals.hasPicture)
      return { decision: 'draw', reason: 'there is no picture yet to search with' };
    const { draw, text } = await counterfactual(this.world, input);
    return draw < 10 && text >= 10
      ? { decision: 'draw', reason: 'the drawing brings the target into the top 10' }
      : { decision: 'text', reason: 'a drawing would not bring the target into the top 10 now' };
  }
}

/** Logs each decision (and, probing, both outcomes) in the dialogue's route log. */
class LoggingRouter implements FeedbackRouter {
  readonly id: string;
  constructor(
    private readonly inner: FeedbackRouter,
    private readonly world: RouterWorld,
  ) {
    this.id = inner.id;
  }
  async decide(input: RouteInput): Promise<RouteDecision> {
    const decided = await this.inner.decide(input);
    const probe =
      this.world.probe && input.signals.hasPicture ? await counterfactual(this.world, input) : undefined;
    routeLog.getStore()?.routes.push({
      decision: decided.decision,
      reason: decided.reason,
      features: routerFeatures(input.signals),
      ...(probe ? { probe } : {}),
    });
    return decided;
  }
}

export function evalRouter(spec: string, world: RouterWorld): FeedbackRouter {
  const inner: FeedbackRouter =
    spec === 'heuristic'
      ? new HeuristicRouter()
      : spec === 'learned'
        ? new LearnedRouter(loadRouterModel(world.modelPath))
        : spec === 'oracle'
          ? new OracleRouter(world)
          : spec === 'never'
            ? new NeverRouter()
            : new RandomRouter(Number(spec.slice('random@'.length)), 'eval');
  return new LoggingRouter(inner, world);
}

/** Counts the generator calls of each dialogue's rounds (probe drawings bypass it). */
export class CountingGenerator implements ImageGenerator {
  constructor(private readonly inner: ImageGenerator) {}
  get id() {
    return this.inner.id;
  }
  generate(query: string, options: { seed: number; signal: AbortSignal }) {
    const store = routeLog.getStore();
    if (store) store.generatorCalls++;
    return this.inner.generate(query, options);
  }
}
