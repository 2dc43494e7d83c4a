/**
 * Per-model prices for cost estimates recorded with each round (and shown by `genir doctor`).
 * List prices in USD at the time of writing: estimates, not invoices. MODEL_PRICES (JSON) adds or
 * overrides entries, e.g. {"black-forest-labs/flux-dev": {"perImage": 0.025}}.
 */
import { z } from 'zod';

export interface ModelPrice {
  /** USD per generated image: one number, or by quality ("low", "medium", "high", "hd", "standard"). */
  perImage?: number | Record<string, number>;
  /** USD per million input / output tokens (chat models). */
  inputPerMTok?: number;
  outputPerMTok?: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const DEFAULT_PRICES: PriceTable = {
  // Replicate (per output image)
  'black-forest-labs/flux-schnell': { perImage: 0.003 },
  'black-forest-labs/flux-dev': { perImage: 0.025 },
  'black-forest-labs/flux-1.1-pro': { perImage: 0.04 },
  'black-forest-labs/flux-pro': { perImage: 0.055 },
  'stability-ai/stable-diffusion-3.5-large': { perImage: 0.065 },
  'stability-ai/stable-diffusion-3.5-large-turbo': { perImage: 0.04 },
  'stability-ai/stable-diffusion-3.5-medium': { perImage: 0.035 },
  // OpenAI images (square 1024 px; larger sizes cost more: override if you use them)
  'gpt-image-1': { perImage: { low: 0.011, medium: 0.042, high: 0.167, auto: 0.042 } },
  'gpt-image-1-mini': { perImage: { low: 0.005, medium: 0.011, high: 0.036, auto: 0.011 } },
  'dall-e-3': { perImage: { standard: 0.04, hd: 0.08 } },
  'dall-e-2': { perImage: 0.02 },
  // OpenAI chat (per million tokens)
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
};

/** A MODEL_PRICES table (per model: perImage and/or per-million-token prices). */
export const priceTableSchema = z.record(
  z.string().min(1),
  z
    .object({
      perImage: z.union([z.number().min(0), z.record(z.string(), z.number().min(0))]).optional(),
      inputPerMTok: z.number().min(0).optional(),
      outputPerMTok: z.number().min(0).optional(),
    })
    .strict(),
);

/** Validate a MODEL_PRICES object; throws with the offending key. */
export function parsePriceTable(value: unknown): PriceTable {
  const parsed = priceTableSchema.safeParse(value);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new Error(`MODEL_PRICES: ${i?.path.join('.') || '(root)'}: ${i?.message ?? 'invalid'}`);
  }
  return parsed.data as PriceTable;
}

/** Defaults overlaid with the configured table. */
export function priceTable(overrides: PriceTable = {}): PriceTable {
  return { ...DEFAULT_PRICES, ...overrides };
}

/** "owner/name:version" → "owner/name" (prices are per model, not per version). */
const baseModel = (model: string) => model.split(':')[0] as string;

function lookup(table: PriceTable, model: string): ModelPrice | undefined {
  return table[model] ?? table[baseModel(model)];
}

/** USD for `images` images of `model`, or undefined when the model has no image price. */
export function imageCost(
  table: PriceTable,
  model: string,
  images = 1,
  quality?: string,
): number | undefined {
  const price = lookup(table, model)?.perImage;
  if (price === undefined) return undefined;
  if (typeof price === 'number') return round(price * images);
  const tier =
    (quality ? price[quality] : undefined) ??
    price.auto ??
    price.medium ??
    price.standard ??
    Object.values(price)[0];
  return tier === undefined ? undefined : round(tier * images);
}

/** USD for a chat call's token usage, or undefined when the model has no token price. */
export function chatCost(
  table: PriceTable,
  model: string,
  usage: { prompt_tokens?: number; completion_tokens?: number } | undefined,
): number | undefined {
  const price = lookup(table, model);
  if (!usage || price?.inputPerMTok === undefined || price.outputPerMTok === undefined) return undefined;
  return round(
    ((usage.prompt_tokens ?? 0) * price.inputPerMTok + (usage.completion_tokens ?? 0) * price.outputPerMTok) /
      1e6,
  );
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;
