/**
 * Paid calls of an eval or dataset build, cached on disk by request hash under the run's out dir,
 * and the spending limit (`--max-cost`). An interrupted run resumes without paying twice: the
 * dialogue in progress is replayed from the cache (the engine's seeds depend only on the thread,
 * the round and the query, so a replay makes the very same requests).
 *
 *   <dir>/calls.jsonl       one line per answered call: { key, kind, value, costUsd }
 *   <dir>/blobs/<key>.png   the images of generations
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  GenerateResult,
  ImageGenerator,
  QueryRefiner,
  RefineInput,
  RefineResult,
} from '../../core/ports.ts';

/** A paid call was refused: it would have gone over `--max-cost`. */
export class BudgetExceededError extends Error {
  constructor(
    readonly spentUsd: number,
    readonly limitUsd: number,
  ) {
    super(
      `stopped at the cost limit: $${spentUsd.toFixed(4)} spent of --max-cost $${limitUsd.toFixed(4)}; ` +
        'run the same command with a higher --max-cost to continue (nothing paid is repeated)',
    );
  }
}

/** Spend so far (this run and the earlier attempts whose calls are cached) against a limit. */
export class Budget {
  /** Set once a call was refused: the dialogue in progress is incomplete. */
  refused = false;
  constructor(
    readonly limitUsd: number = Number.POSITIVE_INFINITY,
    public spentUsd = 0,
  ) {}

  /** Before a paid call estimated at `estimateUsd`: throws when it would pass the limit. */
  check(estimateUsd: number): void {
    if (this.spentUsd + estimateUsd > this.limitUsd + 1e-12) {
      this.refused = true;
      throw new BudgetExceededError(this.spentUsd, this.limitUsd);
    }
  }
}

interface Entry {
  key: string;
  kind: string;
  value: unknown;
  costUsd: number;
}

export const requestKey = (request: unknown): string =>
  createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 32);

export class CallCache {
  /** Calls answered from the cache / made for real, by kind (for reports and tests). */
  readonly hits: Record<string, number> = {};
  readonly misses: Record<string, number> = {};
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private appending = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly entries: Map<string, Entry>,
    readonly budget: Budget,
  ) {}

  /** Opens (or creates) the cache in `dir`; the budget starts at what the cached calls cost. */
  static async open(dir: string, limitUsd?: number): Promise<CallCache> {
    await mkdir(join(dir, 'blobs'), { recursive: true });
    const entries = new Map<string, Entry>();
    const text = await readFile(join(dir, 'calls.jsonl'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as Entry;
        entries.set(e.key, e);
      } catch {
        // a line torn by a kill: that call is made again
      }
    }
    const spent = [...entries.values()].reduce((s, e) => s + e.costUsd, 0);
    return new CallCache(dir, entries, new Budget(limitUsd, spent));
  }

  /** Cached calls so far, by kind. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries.values()) out[e.kind] = (out[e.kind] ?? 0) + 1;
    return out;
  }

  /**
   * The answer to `request`: from the cache, or from `call` (after the budget check with
   * `estimateUsd`), recorded before it is returned. Identical requests in flight share one call.
   */
  async get<T>(
    kind: string,
    request: unknown,
    estimateUsd: number,
    call: () => Promise<{ value: T; costUsd: number; png?: Buffer }>,
  ): Promise<{ value: T; png?: Buffer }> {
    const key = `${kind}-${requestKey(request)}`;
    const pending = this.inFlight.get(key) as Promise<{ value: T; png?: Buffer }> | undefined;
    if (pending) return pending;
    const hit = this.entries.get(key);
    if (hit) {
      this.hits[kind] = (this.hits[kind] ?? 0) + 1;
      const png = (hit.value as { png?: boolean }).png
        ? await readFile(join(this.dir, 'blobs', `${key}.png`))
        : undefined;
      return { value: hit.value as T, ...(png ? { png } : {}) };
    }
    const run = (async () => {
      this.budget.check(estimateUsd);
      this.misses[kind] = (this.misses[kind] ?? 0) + 1;
      const answer = await call();
      this.budget.spentUsd += answer.costUsd;
      if (answer.png) await writeFile(join(this.dir, 'blobs', `${key}.png`), answer.png);
      const entry: Entry = {
        key,
        kind,
        value: answer.png ? { ...(answer.value as object), png: true } : answer.value,
        costUsd: answer.costUsd,
      };
      this.entries.set(key, entry);
      this.appending = this.appending.then(() =>
        appendFile(join(this.dir, 'calls.jsonl'), `${JSON.stringify(entry)}\n`),
      );
      await this.appending;
      return { value: answer.value, ...(answer.png ? { png: answer.png } : {}) };
    })();
    this.inFlight.set(key, run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(key);
    }
  }
}

/** The configured generator, each (query, seed) drawn once per run. */
export class CachedGenerator implements ImageGenerator {
  readonly id: string;
  constructor(
    private readonly inner: ImageGenerator,
    private readonly cache: CallCache,
    private readonly estimateUsd: number,
  ) {
    this.id = inner.id;
  }

  async generate(query: string, options: { seed: number; signal: AbortSignal }): Promise<GenerateResult> {
    const { value, png } = await this.cache.get(
      'generate',
      { generator: this.inner.id, query, seed: options.seed },
      this.estimateUsd,
      async () => {
        const r = await this.inner.generate(query, options);
        const costUsd = r.costUsd ?? this.estimateUsd;
        return {
          value: { seed: r.seed, interpretation: r.interpretation ?? null, costUsd },
          costUsd,
          png: r.png,
        };
      },
    );
    if (!png)
      throw new Error('the generation cache lost an image; delete its calls.jsonl line or use --fresh');
    return {
      png,
      seed: value.seed,
      costUsd: value.costUsd,
      ...(value.interpretation !== null ? { interpretation: value.interpretation } : {}),
    };
  }

  close() {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

/** The configured refiner (an LLM: paid, and not deterministic), each request answered once per run. */
export class CachedRefiner implements QueryRefiner {
  readonly id: string;
  constructor(
    private readonly inner: QueryRefiner & { costUsd?: number },
    private readonly cache: CallCache,
  ) {
    this.id = inner.id;
  }

  async refine(input: RefineInput, signal?: AbortSignal): Promise<RefineResult> {
    const request = {
      refiner: this.inner.id,
      previous: input.previous ?? null,
      message: input.message,
      history: input.history.map((r) => r.query),
    };
    const { value } = await this.cache.get('refine', request, 0, async () => {
      const before = this.inner.costUsd ?? 0;
      const result = await this.inner.refine(input, signal);
      return { value: result, costUsd: Math.max(0, (this.inner.costUsd ?? 0) - before) };
    });
    return value;
  }

  close() {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
