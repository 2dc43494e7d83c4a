/**
 * Image generator on Replicate (GENERATOR=replicate), with the official `replicate` client.
 *
 * One round: create the prediction with `Prefer: wait=N` (sync mode: most FLUX schnell images
 * come back in this one request) and `Cancel-After` (Replicate stops it server-side if we vanish);
 * if it is not done by then, poll until it is or until the round's signal aborts, in which case
 * the prediction is cancelled. The output (URL / data URI / FileOutput) is downloaded with a size
 * cap and converted to PNG. NSFW / safety failures become RefusedError (ask to rephrase, no retry).
 *
 * Every request goes through the shared ProviderGate. The client's own retry loop (it retries
 * 429s at once, without honouring Retry-After) is neutralised by giving each attempt a fetch that
 * answers the client's repeats with the first retryable response instead of calling again.
 */
import Replicate from 'replicate';
import { z } from 'zod';
import { RefusedError } from '../../../core/errors.ts';
import type { GenerateResult, ImageGenerator, Logger } from '../../../core/ports.ts';
import { BadResponseError, ProviderError, sanitize, withProvider } from '../../providers/errors.ts';
import { abortableSleep, type ProviderGate } from '../../providers/gate.ts';
import { DEFAULT_MAX_IMAGE_BYTES, downloadImage, toPng } from '../../providers/images.ts';
import { imageCost, type PriceTable, priceTable } from '../../providers/prices.ts';
import { buildInput, familyOf, type GenerationOptions, parseSize } from './models.ts';

export interface ReplicateGeneratorOptions {
  apiToken: string;
  /** "owner/name" (official models) or "owner/name:version". Default black-forest-labs/flux-schnell. */
  model?: string;
  /** API base URL (tests, proxies); default https://api.replicate.com/v1. */
  baseUrl?: string | undefined;
  gate: ProviderGate;
  /** "1024x1024" → aspect ratio / megapixels / width+height, per model family. */
  size?: string;
  steps?: number | undefined;
  guidance?: number | undefined;
  outputFormat?: GenerationOptions['outputFormat'];
  /** REPLICATE_INPUT: raw inputs merged over the mapped ones (prompt and seed excepted). */
  rawInput?: Record<string, unknown>;
  /** Sync-mode wait of the create request, 1–60 s (default 30). */
  waitSeconds?: number;
  /** Poll interval once sync mode has timed out (default 1000 ms). */
  pollIntervalMs?: number;
  /** Server-side deadline (Cancel-After), normally the round's generation timeout. */
  deadlineMs?: number | undefined;
  /** Download cap (default 20 MB). */
  maxBytes?: number;
  prices?: PriceTable;
  logger?: Logger;
  /** fetch used by the client and the downloads (default global fetch). */
  fetch?: typeof fetch;
}

const predictionSchema = z.object({
  id: z.string().min(1),
  status: z.enum(['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted']),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
  metrics: z.object({ predict_time: z.number().optional() }).passthrough().optional().nullable(),
});
type Prediction = z.infer<typeof predictionSchema>;

const TERMINAL = new Set<Prediction['status']>(['succeeded', 'failed', 'canceled', 'aborted']);
const SAFETY = /nsfw|safety|sensitive|content (?:policy|moderation)|flagged|inappropriate|not allowed/i;

export const REPHRASE =
  "The image service's safety filter refused to draw this description. Please rephrase it and send it again.";

export class ReplicateGenerator implements ImageGenerator {
  readonly id: string;
  readonly model: string;
  private readonly options: ReplicateGeneratorOptions;
  private readonly gate: ProviderGate;
  private readonly prices: PriceTable;
  private readonly fetchImpl: typeof fetch;
  private readonly cancels = new Set<Promise<void>>();

  constructor(options: ReplicateGeneratorOptions) {
    this.options = options;
    this.model = options.model ?? 'black-forest-labs/flux-schnell';
    if (!/^[\w.-]+\/[\w.-]+(?::[0-9a-f]{8,})?$/i.test(this.model)) {
      throw new Error(`REPLICATE_MODEL must be "owner/name" or "owner/name:version", got "${this.model}"`);
    }
    this.id = `replicate:${this.model.split(':')[0]}`;
    this.gate = options.gate;
    this.prices = options.prices ?? priceTable();
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The family of inputs used for this model (flux-schnell, flux-dev, sd-3.5, sdxl, generic). */
  get family(): string {
    return familyOf(this.model).id;
  }

  /** The exact input sent for a prompt and seed (useful for `genir doctor` and tests). */
  inputFor(prompt: string, seed: number): Record<string, unknown> {
    const { width, height } = parseSize(this.options.size ?? '1024x1024');
    return buildInput(
      this.model,
      prompt,
      {
        seed,
        width,
        height,
        steps: this.options.steps,
        guidance: this.options.guidance,
        outputFormat: this.options.outputFormat ?? 'png',
      },
      this.options.rawInput,
    );
  }

  async generate(query: string, options: { seed: number; signal: AbortSignal }): Promise<GenerateResult> {
    const { signal } = options;
    let prediction = await this.create(this.inputFor(query, options.seed), signal);
    const interval = this.options.pollIntervalMs ?? 1000;
    try {
      while (!TERMINAL.has(prediction.status)) {
        await abortableSleep(interval, signal);
        const id = prediction.id;
        prediction = await this.gate.run(
          'poll',
          async (s) =>
            parsePrediction(
              await (await this.client().request(`/predictions/${id}`, { method: 'GET', signal: s })).json(),
            ),
          { signal },
        );
      }
    } catch (err) {
      if (signal.aborted) {
        this.cancel(prediction.id);
        throw err instanceof ProviderError ? err : new ProviderError('replicate', { kind: 'aborted' }, 1);
      }
      throw err;
    }
    try {
      return await this.finish(prediction, options.seed, signal);
    } catch (err) {
      throw withProvider('replicate', err);
    }
  }

  /** Shutdown: resolves when every cancel request sent so far has finished. */
  async close(): Promise<void> {
    await Promise.all([...this.cancels]);
  }

  private async create(input: Record<string, unknown>, signal: AbortSignal): Promise<Prediction> {
    const [name, version] = this.model.split(':') as [string, string | undefined];
    const wait = Math.min(60, Math.max(1, Math.round(this.options.waitSeconds ?? 30)));
    const headers: Record<string, string> = { Prefer: `wait=${wait}` };
    if (this.options.deadlineMs)
      headers['Cancel-After'] = `${Math.max(5, Math.ceil(this.options.deadlineMs / 1000))}s`;
    const route = version ? '/predictions' : `/models/${name}/predictions`;
    const data = version ? { version, input } : { input };
    return this.gate.run(
      'create',
      async (s) =>
        parsePrediction(
          await (await this.client().request(route, { method: 'POST', headers, data, signal: s })).json(),
        ),
      { signal, timeoutMs: wait * 1000 + this.gate.limits.timeoutMs },
    );
  }

  private async finish(prediction: Prediction, seed: number, signal: AbortSignal): Promise<GenerateResult> {
    if (prediction.status === 'failed') {
      const reason =
        typeof prediction.error === 'string' ? prediction.error : JSON.stringify(prediction.error ?? '');
      if (SAFETY.test(reason)) throw new RefusedError(REPHRASE);
      throw new Error(`replicate: the model failed (${sanitize(reason, 120) || 'no reason given'})`);
    }
    if (prediction.status !== 'succeeded')
      throw new Error(`replicate: the prediction was ${prediction.status}`);
    const url = firstOutputUrl(prediction.output);
    const maxBytes = this.options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
    const bytes = await this.gate.run(
      'download',
      (s) => downloadImage(url, { maxBytes, signal: s, fetch: this.fetchImpl }),
      { signal },
    );
    const png = await toPng(bytes);
    const cost = imageCost(this.prices, this.model, 1);
    return {
      png,
      seed,
      ...(cost !== undefined ? { costUsd: cost } : {}),
      meta: {
        predictionId: prediction.id,
        model: this.model,
        ...(prediction.metrics?.predict_time !== undefined
          ? { predictTimeS: prediction.metrics.predict_time }
          : {}),
      },
    };
  }

  /** Best effort, in the background: a failed cancel is logged, never thrown. */
  private cancel(id: string): void {
    const job = this.gate
      .run(
        'cancel',
        (s) => this.client().request(`/predictions/${id}/cancel`, { method: 'POST', signal: s }),
        {
          timeoutMs: 10_000,
          retries: 1,
        },
      )
      .then(
        () => {},
        (err: unknown) => {
          this.options.logger?.warn({ prediction: id, err }, 'replicate: cancel failed');
        },
      )
      .finally(() => this.cancels.delete(job));
    this.cancels.add(job);
  }

  /** A client for one attempt (see the file comment). */
  private client(): Replicate {
    return new Replicate({
      auth: this.options.apiToken,
      userAgent: 'genir-chat',
      ...(this.options.baseUrl ? { baseUrl: this.options.baseUrl } : {}),
      fetch: singleShotFetch(this.fetchImpl),
    });
  }
}

function parsePrediction(json: unknown): Prediction {
  const parsed = predictionSchema.safeParse(json);
  if (!parsed.success) throw new BadResponseError('unreadable answer (not a prediction)');
  return parsed.data;
}

/** The first image of an output: a URL or data URI string, an array of them, or a FileOutput. */
export function firstOutputUrl(output: unknown): string {
  const first = Array.isArray(output) ? output[0] : output;
  if (typeof first === 'string' && first) return first;
  if (first && typeof first === 'object') {
    const o = first as { url?: unknown };
    if (typeof o.url === 'function') return String((o.url as () => URL | string)());
    if (typeof o.url === 'string') return o.url;
  }
  throw new BadResponseError('the prediction has no image in its output');
}

/**
 * A fetch for one attempt: the first call goes to the network; if it fails or answers 429/5xx,
 * the client's immediate repeats get the same answer without another request, so only the gate
 * decides when (and whether) to try again.
 */
export function singleShotFetch(base: typeof fetch): typeof fetch {
  let replay: (() => Promise<Response>) | null = null;
  return async (input, init) => {
    if (replay) return replay();
    let res: Response;
    try {
      res = await base(input, init);
    } catch (err) {
      replay = () => Promise.reject(err);
      throw err;
    }
    if (res.status !== 429 && res.status < 500) return res;
    const body = await res.arrayBuffer().catch(() => new ArrayBuffer(0));
    const { status, statusText } = res;
    const headers = new Headers(res.headers);
    replay = async () => new Response(body.slice(0), { status, statusText, headers });
    return replay();
  };
}
