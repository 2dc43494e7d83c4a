import { errorText } from './error-text.ts';
import { errorMessage, RefusedError, UserFacingError } from './errors.ts';
import type {
  DrawingCheck,
  FeedbackRouter,
  GalleryResolver,
  ImageEncoder,
  ImageGenerator,
  Logger,
  QueryRefiner,
  RefineResult,
  RoundImageStore,
  SearchedGallery,
} from './ports.ts';
import { activeFeedback, applyFeedback, fuseBase, type RankingOptions, seenAssets } from './ranking.ts';
import { lastPictured, queryChange, routeSignals } from './router.ts';
import type { GeneratedRef, Match, Round, RoundCause, RouteRef, ThreadKey, ThreadState } from './types.ts';
import { dot } from './vector.ts';

export interface RunnerDeps {
  refiner: QueryRefiner;
  /** Used when the main refiner fails (times out, refuses, returns garbage). */
  fallbackRefiner?: QueryRefiner;
  generator: ImageGenerator;
  encoder: ImageEncoder;
  /** The gallery each thread searches (per tenant, or per channel). */
  galleries: GalleryResolver;
  images: RoundImageStore;
  logger: Logger;
  /** Decides which rounds are drawn; without one every round is. */
  router?: FeedbackRouter;
  /** Reads what a drawing shows that was not asked for (the hallucination notice). */
  drawingCheck?: DrawingCheck;
}

export interface RunnerOptions {
  topK: number;
  ranking: RankingOptions;
  refineTimeoutMs: number;
  generateTimeoutMs: number;
  /**
   * A new drawing whose embedding has at least this cosine with the last picture's, while the
   * description changed, is drawn once more with another seed (stagnation); 1 turns it off.
   */
  stagnationCosine?: number;
  /** Drawings per search the router may spend (unset = no budget). */
  drawingBudget?: number;
}

/** How the picture of a round comes about. */
export type Visual =
  /** `route`: the router (or the thread's /draw, /nodraw) decides whether to draw at all. */
  | { kind: 'generate'; seed: number; route?: boolean }
  | { kind: 'upload'; png: Buffer }
  | { kind: 'reuse'; from: Round };

export interface RoundRequest {
  cause: RoundCause;
  userText: string;
  userId: string;
  query: string;
  visual: Visual;
  notes: string[];
  /** Stages already timed (e.g. refine). */
  timings?: Record<string, number>;
  /** Aborted when the round is given up (the person sent more before it finished). */
  cancel?: AbortSignal;
  id: string;
  now: number;
}

/** The generator's own failure, told apart from the encoder's (which is not a reason to draw without). */
class GeneratorFailed extends Error {
  constructor(cause: unknown) {
    super('generation failed', { cause });
  }
}

/** A provider call's signal: its timeout, or the round being given up, whichever comes first. */
const withCancel = (timeoutMs: number, cancel?: AbortSignal): AbortSignal =>
  cancel ? AbortSignal.any([AbortSignal.timeout(timeoutMs), cancel]) : AbortSignal.timeout(timeoutMs);

const timed = async <T>(timings: Record<string, number>, stage: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[stage] = Math.round((performance.now() - t0) * 100) / 100;
  }
};

/** The steps of one GenIR round: refine → visualize → encode → rank. */
export class RoundRunner {
  constructor(
    private readonly deps: RunnerDeps,
    private readonly options: RunnerOptions,
  ) {}

  async refine(
    previous: string | undefined,
    message: string,
    history: Round[],
    cancel?: AbortSignal,
  ): Promise<RefineResult> {
    const input = { ...(previous !== undefined ? { previous } : {}), message, history };
    const signal = withCancel(this.options.refineTimeoutMs, cancel);
    try {
      return await this.deps.refiner.refine(input, signal);
    } catch (err) {
      if (cancel?.aborted) throw cancel.reason;
      const fallback = this.deps.fallbackRefiner;
      if (!fallback) {
        if (err instanceof UserFacingError) throw err;
        const code = signal.aborted ? 'timeout' : 'refiner-failed';
        throw new UserFacingError(code, errorText(code, { reason: errorMessage(err) }), { cause: err });
      }
      this.deps.logger.warn({ err, refiner: this.deps.refiner.id }, 'refiner failed');
      const result = await fallback.refine(input);
      return {
        ...result,
        note: `The ${this.deps.refiner.id} refiner failed (${errorMessage(err)}); used simple rules.`,
      };
    }
  }

  async run(state: ThreadState, req: RoundRequest): Promise<Round> {
    const { index } = await searchedGallery(this.deps.galleries, state.key);
    const timings: Record<string, number> = { ...req.timings };
    const notes = [...req.notes];
    const previous = state.rounds.at(-1);
    const route = await this.route(state, req, timings, index);
    const { generated, base } =
      route?.decision === 'text'
        ? { generated: null, base: await this.wordsOnly(req.query, previous, route, notes, timings) }
        : await this.visualize(state, req, previous, notes, timings);

    const { liked, rejected } =
      req.visual.kind === 'reuse' ? activeFeedback(state.rounds) : { liked: [], rejected: [] };
    const vectors = liked.length + rejected.length > 0 ? await index.fetch([...liked, ...rejected]) : null;
    const pick = (ids: string[]) => ids.flatMap((id) => vectors?.get(id) ?? []);
    const query = applyFeedback(base, pick(liked), pick(rejected), this.options.ranking);

    const exclude = this.options.ranking.seenExclusion ? seenAssets(state.rounds) : new Set<string>();
    const hits = await timed(timings, 'search', () => index.search(query, this.options.topK, { exclude }));
    if (hits.length === 0) {
      const code = exclude.size > 0 ? 'gallery-exhausted' : 'gallery-empty';
      throw new UserFacingError(code, errorText(code));
    }
    const matches: Match[] = hits.map((h) => ({ assetId: h.id, score: Math.round(h.score * 1e4) / 1e4 }));
    return {
      id: req.id,
      index: state.rounds.length,
      cause: req.cause,
      userText: req.userText,
      query: req.query,
      generated,
      ...(route ? { route } : {}),
      baseVector: Array.from(base),
      encoderId: this.deps.encoder.id,
      matches,
      feedback: [],
      notes,
      timings,
      userId: req.userId,
      createdAt: req.now,
    };
  }

  private async visualize(
    state: ThreadState,
    req: RoundRequest,
    previous: Round | undefined,
    notes: string[],
    timings: Record<string, number>,
  ): Promise<{ generated: GeneratedRef | null; base: Float32Array }> {
    const { visual } = req;
    if (visual.kind === 'reuse') return { generated: null, base: Float32Array.from(visual.from.baseVector) };

    let png: Buffer;
    let image: Float32Array;
    let generated: Omit<GeneratedRef, 'image'>;
    if (visual.kind === 'upload') {
      png = visual.png;
      generated = { generatorId: 'upload', seed: 0 };
      [image] = (await timed(timings, 'encode', () => this.deps.encoder.embedImages([png]))) as [
        Float32Array,
      ];
    } else {
      try {
        const drawn = await this.draw(state, req, visual.seed, notes, timings);
        ({ png, image, generated } = drawn);
      } catch (failed) {
        if (!(failed instanceof GeneratorFailed)) throw failed;
        const err = failed.cause;
        if (req.cancel?.aborted) throw req.cancel.reason;
        if (err instanceof RefusedError) throw err;
        return { generated: null, base: await this.withoutPicture(req.query, previous, err, notes, timings) };
      }
    }
    const text = await this.textVector(req.query, timings);
    const ref = await timed(timings, 'persist-image', () => this.deps.images.put(state.key, req.id, png));
    return {
      generated: { ...generated, image: ref },
      base: fuseBase(image, text, this.options.ranking.textWeight),
    };
  }

  /** The router's (or the person's) call on a round that may draw; null for rounds that must not ask. */
  private async route(
    state: ThreadState,
    req: RoundRequest,
    timings: Record<string, number>,
    index: SearchedGallery['index'],
  ): Promise<RouteRef | null> {
    const { visual } = req;
    if (visual.kind !== 'generate' || !visual.route) return null;
    const { router } = this.deps;
    const textTop =
      router && state.drawing === undefined ? await this.textTop(req.query, timings, index) : undefined;
    const budget = this.options.drawingBudget;
    const signals = routeSignals(state.rounds, req.query, {
      ...(textTop ? { textTop } : {}),
      ...(budget !== undefined
        ? {
            budgetLeft:
              budget - state.rounds.filter((r) => r.generated?.generatorId === this.deps.generator.id).length,
          }
        : {}),
    });
    const canSearch = signals.hasPicture || this.deps.encoder.embedTexts !== undefined;
    if (state.drawing === 'always')
      return { decision: 'draw', by: 'person', reason: 'you asked for pictures (/draw)' };
    if (state.drawing === 'never')
      return canSearch
        ? { decision: 'text', by: 'person', reason: 'you asked for no pictures (/nodraw)' }
        : { decision: 'draw', by: 'person', reason: 'there is no picture yet to search with' };
    if (!router) return null;
    const decided = await timed(timings, 'route', async () =>
      router.decide({ key: state.key, query: req.query, seed: visual.seed, signals }),
    );
    if (decided.decision === 'text' && !canSearch)
      return { decision: 'draw', by: router.id, reason: 'there is no picture yet to search with' };
    return { ...decided, by: router.id };
  }

  /** A text-only search's top matches, to compare with the last round's (text tower only). */
  private async textTop(
    query: string,
    timings: Record<string, number>,
    index: SearchedGallery['index'],
  ): Promise<string[] | undefined> {
    const { encoder } = this.deps;
    if (!encoder.embedTexts) return undefined;
    const [v] = await timed(timings, 'route-text', () => encoder.embedTexts!([query]));
    if (!v) return undefined;
    const hits = await index.search(v, this.options.topK);
    return hits.map((h) => h.id);
  }

  /**
   * A text round: the words, searched with the text tower where the encoder has one; without one
   * the words cannot move the search, so the last round's vector is searched again (with the
   * thread's seen-exclusion this shows the next matches) and the change waits for the next picture.
   */
  private async wordsOnly(
    query: string,
    previous: Round | undefined,
    route: RouteRef,
    notes: string[],
    timings: Record<string, number>,
  ): Promise<Float32Array> {
    const { encoder } = this.deps;
    const redraw = route.by === 'person' ? '/draw to turn pictures back on' : '/draw for one';
    if (encoder.embedTexts) {
      const [v] = await timed(timings, 'encode-text', () => encoder.embedTexts!([query]));
      notes.push(`No picture this round (${route.reason}); these matches come from your words (${redraw}).`);
      return v as Float32Array;
    }
    notes.push(
      `No picture this round (${route.reason}); your words are kept and the next picture will show them (${redraw}).`,
    );
    return Float32Array.from((previous as Round).baseVector);
  }

  /**
   * One drawing with its guards: a drawing that looks like the last picture although the
   * description changed is drawn once more with another seed (and the person told if it still
   * does not change); objects drawn that were never asked for are named.
   */
  private async draw(
    state: ThreadState,
    req: RoundRequest,
    seed: number,
    notes: string[],
    timings: Record<string, number>,
  ): Promise<{ png: Buffer; image: Float32Array; generated: Omit<GeneratedRef, 'image'> }> {
    const once = async (s: number) => {
      const t0 = performance.now();
      const out = await timed(timings, 'generate', () =>
        this.deps.generator.generate(req.query, {
          seed: s,
          signal: withCancel(this.options.generateTimeoutMs, req.cancel),
        }),
      ).catch((err: unknown) => {
        throw new GeneratorFailed(err);
      });
      const latency = performance.now() - t0;
      const [image] = (await timed(timings, 'encode', () => this.deps.encoder.embedImages([out.png]))) as [
        Float32Array,
      ];
      return { out, image, latency };
    };
    let { out, image, latency } = await once(seed);
    let calls = 1;
    let cost = out.costUsd;
    const before = lastPictured(state.rounds);
    const threshold = this.options.stagnationCosine ?? 1;
    const stagnant = (v: Float32Array) =>
      before !== undefined &&
      threshold < 1 &&
      queryChange(before.query, req.query) > 0 &&
      dot(v, Float32Array.from(before.baseVector)) >= threshold;
    if (stagnant(image)) {
      const again = await once((seed ^ 0x9e3779b9) >>> 0);
      calls++;
      latency += again.latency;
      if (again.out.costUsd !== undefined) cost = (cost ?? 0) + again.out.costUsd;
      ({ out, image } = again);
      if (stagnant(image))
        notes.push(
          'Your last change did not show in the picture (I drew it twice); the matches may not reflect it yet.',
        );
    }
    const unasked =
      out.interpretation && this.deps.drawingCheck
        ? this.deps.drawingCheck.unasked(req.query, out.interpretation)
        : [];
    if (unasked.length > 0)
      notes.push(
        `I also drew ${listWords(unasked)} that you did not mention; say so if it is not in your image.`,
      );
    return {
      png: out.png,
      image,
      generated: {
        generatorId: this.deps.generator.id,
        seed: out.seed,
        latencyMs: Math.round(latency),
        ...(out.interpretation ? { interpretation: out.interpretation } : {}),
        ...(cost !== undefined ? { costUsd: cost } : {}),
        ...(calls > 1 ? { calls } : {}),
      },
    };
  }

  private async textVector(query: string, timings: Record<string, number>): Promise<Float32Array | null> {
    const { encoder } = this.deps;
    if (!encoder.embedTexts || this.options.ranking.textWeight <= 0) return null;
    const [v] = await timed(timings, 'encode-text', () => encoder.embedTexts!([query]));
    return v ?? null;
  }

  /** Generation failed: retrieve by the words (text encoder) or by the previous round's picture. */
  private async withoutPicture(
    query: string,
    previous: Round | undefined,
    err: unknown,
    notes: string[],
    timings: Record<string, number>,
  ): Promise<Float32Array> {
    const reason = errorMessage(err);
    this.deps.logger.warn({ err, generator: this.deps.generator.id }, 'generation failed');
    const { encoder } = this.deps;
    if (encoder.embedTexts) {
      const [v] = await timed(timings, 'encode-text', () => encoder.embedTexts!([query]));
      notes.push(`I could not draw this round (${reason}); these matches come from your words alone.`);
      return v as Float32Array;
    }
    if (previous) {
      notes.push(
        `I could not draw this round (${reason}); these matches reuse the previous round's picture.`,
      );
      return Float32Array.from(previous.baseVector);
    }
    throw new UserFacingError('generation-failed', errorText('generation-failed', { reason }), {
      cause: err,
    });
  }
}

/** "a ring", "a ring and a lamp", "a ring, a lamp and a star". */
function listWords(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** The thread's gallery; a tenant without one gets told how its admin adds one. */
export async function searchedGallery(galleries: GalleryResolver, key: ThreadKey): Promise<SearchedGallery> {
  const searched = await galleries.forThread(key);
  if (!searched) throw new UserFacingError('no-gallery', errorText('no-gallery'));
  return searched;
}
