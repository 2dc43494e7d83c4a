import { errorText } from './error-text.ts';
import { errorMessage, RefusedError, UserFacingError } from './errors.ts';
import type {
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
import type { GeneratedRef, Match, Round, RoundCause, ThreadKey, ThreadState } from './types.ts';

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
}

export interface RunnerOptions {
  topK: number;
  ranking: RankingOptions;
  refineTimeoutMs: number;
  generateTimeoutMs: number;
}

/** How the picture of a round comes about. */
export type Visual =
  | { kind: 'generate'; seed: number }
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
    const { generated, base } = await this.visualize(state, req, previous, notes, timings);

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
    let generated: Omit<GeneratedRef, 'image'>;
    if (visual.kind === 'upload') {
      png = visual.png;
      generated = { generatorId: 'upload', seed: 0 };
    } else {
      try {
        const t0 = performance.now();
        const out = await timed(timings, 'generate', () =>
          this.deps.generator.generate(req.query, {
            seed: visual.seed,
            signal: withCancel(this.options.generateTimeoutMs, req.cancel),
          }),
        );
        png = out.png;
        generated = {
          generatorId: this.deps.generator.id,
          seed: out.seed,
          latencyMs: Math.round(performance.now() - t0),
          ...(out.interpretation ? { interpretation: out.interpretation } : {}),
          ...(out.costUsd !== undefined ? { costUsd: out.costUsd } : {}),
        };
      } catch (err) {
        if (req.cancel?.aborted) throw req.cancel.reason;
        if (err instanceof RefusedError) throw err;
        return { generated: null, base: await this.withoutPicture(req.query, previous, err, notes, timings) };
      }
    }
    const [image] = await timed(timings, 'encode', () => this.deps.encoder.embedImages([png]));
    const text = await this.textVector(req.query, timings);
    const ref = await timed(timings, 'persist-image', () => this.deps.images.put(state.key, req.id, png));
    return {
      generated: { ...generated, image: ref },
      base: fuseBase(image as Float32Array, text, this.options.ranking.textWeight),
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

/** The thread's gallery; a tenant without one gets told how its admin adds one. */
export async function searchedGallery(galleries: GalleryResolver, key: ThreadKey): Promise<SearchedGallery> {
  const searched = await galleries.forThread(key);
  if (!searched) throw new UserFacingError('no-gallery', errorText('no-gallery'));
  return searched;
}
