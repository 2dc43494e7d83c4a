/**
 * Image generator over the OpenAI Images API (GENERATOR=openai-images): gpt-image-1, dall-e-3,
 * and OpenAI-compatible image servers (IMAGE_BASE_URL / OPENAI_BASE_URL). Accepts base64
 * (b64_json) and URL answers, with a size cap on both; content-policy refusals become
 * RefusedError (the engine asks the person to rephrase, no retry).
 *
 * The Images API has no seed: the round's seed is recorded, but it does not make the picture
 * reproducible.
 */
import OpenAI from 'openai';
import { RefusedError } from '../../../core/errors.ts';
import type { GenerateResult, ImageGenerator } from '../../../core/ports.ts';
import { BadResponseError, withProvider } from '../../providers/errors.ts';
import type { ProviderGate } from '../../providers/gate.ts';
import { DEFAULT_MAX_IMAGE_BYTES, decodeBase64, downloadImage, toPng } from '../../providers/images.ts';
import { imageCost, type PriceTable, priceTable } from '../../providers/prices.ts';

export interface OpenAIImageGeneratorOptions {
  /** gpt-image-1 (default), gpt-image-1-mini, dall-e-3, dall-e-2, or a compatible server's model. */
  model?: string;
  apiKey?: string | undefined;
  baseURL?: string | undefined;
  gate: ProviderGate;
  /** e.g. 1024x1024 (default), 1536x1024, auto. */
  size?: string;
  /** low | medium | high | auto (gpt-image-1), standard | hd (dall-e-3). Unset: the model's default. */
  quality?: string | undefined;
  /** Download / base64 cap (default 20 MB). */
  maxBytes?: number;
  prices?: PriceTable;
  client?: OpenAI;
  /** fetch for URL answers (default global fetch). */
  fetch?: typeof fetch;
}

export const REPHRASE_IMAGE =
  "The image service's safety system refused to draw this description. Please rephrase it and send it again.";

const REFUSAL_CODES = new Set(['content_policy_violation', 'moderation_blocked', 'content_filter']);

/** An OpenAI API error that is a content refusal, as RefusedError; else null. */
export function asImageRefusal(err: unknown): RefusedError | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as { status?: unknown; code?: unknown; message?: unknown };
  if (e.status !== 400) return null;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (REFUSAL_CODES.has(code) || /safety system|content policy|moderation/i.test(message)) {
    return new RefusedError(REPHRASE_IMAGE);
  }
  return null;
}

export class OpenAIImageGenerator implements ImageGenerator {
  readonly id: string;
  readonly model: string;
  private readonly client: OpenAI;
  private readonly options: OpenAIImageGeneratorOptions;
  private readonly prices: PriceTable;

  constructor(options: OpenAIImageGeneratorOptions) {
    this.options = options;
    this.model = options.model ?? 'gpt-image-1';
    this.id = `openai-images:${this.model}`;
    this.prices = options.prices ?? priceTable();
    this.client =
      options.client ??
      new OpenAI({
        apiKey: options.apiKey || 'not-needed',
        ...(options.baseURL ? { baseURL: options.baseURL } : {}),
        maxRetries: 0,
        timeout: 10 * 60_000,
      });
  }

  /** The request body for a prompt. */
  request(prompt: string): OpenAI.Images.ImageGenerateParamsNonStreaming {
    const body: OpenAI.Images.ImageGenerateParamsNonStreaming = {
      model: this.model,
      prompt,
      n: 1,
      size: (this.options.size ?? '1024x1024') as OpenAI.Images.ImageGenerateParams['size'],
    };
    if (this.options.quality)
      body.quality = this.options.quality as OpenAI.Images.ImageGenerateParams['quality'];
    // DALL·E answers with URLs unless asked; gpt-image-* always sends base64 and rejects the field.
    if (this.model.startsWith('dall-e')) body.response_format = 'b64_json';
    return body;
  }

  async generate(query: string, options: { seed: number; signal: AbortSignal }): Promise<GenerateResult> {
    try {
      return await this.generateOnce(query, options);
    } catch (err) {
      throw withProvider('openai-images', err);
    }
  }

  private async generateOnce(
    query: string,
    options: { seed: number; signal: AbortSignal },
  ): Promise<GenerateResult> {
    const body = this.request(query);
    const res = await this.options.gate.run(
      'images',
      async (s) => {
        try {
          return await this.client.images.generate(body, { signal: s });
        } catch (err) {
          throw asImageRefusal(err) ?? err;
        }
      },
      { signal: options.signal },
    );
    // A compatible server may answer with something that is not an ImagesResponse at all.
    const data =
      res && typeof res === 'object' ? (res as Partial<OpenAI.Images.ImagesResponse>).data : undefined;
    const item = Array.isArray(data) ? data[0] : undefined;
    if (!item) throw new BadResponseError('the answer has no image');
    const maxBytes = this.options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
    let bytes: Buffer;
    if (item.b64_json) bytes = decodeBase64(item.b64_json, maxBytes);
    else if (item.url) {
      const url = item.url;
      bytes = await this.options.gate.run(
        'download',
        (s) =>
          downloadImage(url, {
            maxBytes,
            signal: s,
            ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
          }),
        { signal: options.signal },
      );
    } else throw new BadResponseError('the answer has neither b64_json nor url');
    const png = await toPng(bytes);
    const cost = imageCost(
      this.prices,
      this.model,
      1,
      this.options.quality ?? (res as OpenAI.Images.ImagesResponse).quality,
    );
    return {
      png,
      seed: options.seed,
      ...(item.revised_prompt ? { interpretation: item.revised_prompt } : {}),
      ...(cost !== undefined ? { costUsd: cost } : {}),
      meta: { model: this.model },
    };
  }
}
