/**
 * The VLM user of `genir eval` (real data), following GenIR's protocol with an OpenAI-compatible
 * vision chat model (e.g. Gemma 3 served by Ollama or vLLM): caption the target image for a
 * text-to-image model; then, every round, look at the target and the synthetic image, say what
 * is different, and rewrite the caption. The message sent to the bot is the difference (what a
 * person would type; the bot's refiner merges it) or, with `message: 'caption'`, the rewritten
 * caption. The blind variant never sees the synthetic image and adds one detail per round.
 */
import Bottleneck from 'bottleneck';
import OpenAI from 'openai';
import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';
import sharp from 'sharp';
import { z } from 'zod';
import { chatCost, type PriceTable } from '../../adapters/providers/prices.ts';
import type { CallCache } from './call-cache.ts';
import type { BotTurn, SimulatedUser } from './users.ts';

export interface VlmOptions {
  baseURL: string;
  /** Local servers (Ollama, vLLM) accept any key. */
  apiKey?: string;
  model: string;
  /** GenIR used temperature 0.7 and top-p 0.9. */
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  timeoutMs?: number;
  /** Retries on 429/5xx/network errors (the openai client backs off with jitter). */
  maxRetries?: number;
  /** What the user sends each round: the stated difference (default) or the rewritten caption. */
  message?: 'difference' | 'caption';
  /** Longest side of the images sent to the model. */
  imageSide?: number;
  /** Requests in flight at once, over all users of a run. */
  maxConcurrent?: number;
}

/** Tokens assumed per VLM call for cost estimates before a run (two 512 px images and a prompt in, one answer out). */
export const VLM_TOKENS_PER_CALL = { prompt_tokens: 1_500, completion_tokens: 150 } as const;

/** USD of one VLM call by the estimate above; 0 when prices.ts has no price for the model (a local server). */
export const vlmCallEstimate = (prices: PriceTable, model: string): number =>
  chatCost(prices, model, VLM_TOKENS_PER_CALL) ?? 0;

export const VLM_DEFAULTS = {
  temperature: 0.7,
  topP: 0.9,
  maxTokens: 500,
  timeoutMs: 120_000,
  maxRetries: 2,
  message: 'difference',
  imageSide: 512,
  maxConcurrent: 2,
} as const;

const SYSTEM =
  'You help a person find an image they remember in a large collection. Be concrete: name the ' +
  'main subjects, their colours, sizes and positions, and the background. No preamble.';

const CAPTION_PROMPT =
  'Describe this image in one or two sentences as a prompt for a text-to-image model. ' +
  'Answer with the description only.';

/**
 * Image 2 was drawn by the search system from its own query (the refined one), not from the
 * user's caption: the user compares it with what they remember and corrects the system.
 */
const comparePrompt = (caption: string, query: string) =>
  `Image 2 was drawn by the search system from its current search query: "${query}". ` +
  `Image 1 is the image I remember; my own description of it so far is: "${caption}". ` +
  'What is the single most important difference between image 2 and image 1? Say it the way a ' +
  'person would correct the picture, in one short sentence (e.g. "the fox faces left and the ' +
  'background is teal"). Then rewrite my description so that a text-to-image model draws image 1 ' +
  'more faithfully. Answer with JSON only: {"difference": "...", "description": "..."}';

const blindPrompt = (caption: string) =>
  `The description so far is: "${caption}". Name one more detail of this image that the description ` +
  'does not mention yet, as one short sentence a person would add, and rewrite the description with ' +
  'it. Answer with JSON only: {"difference": "...", "description": "..."}';

const answerSchema = z.object({ difference: z.string().min(1), description: z.string().min(1) });

/** The JSON object in a model's answer (possibly wrapped in prose or a code fence), or null. */
export function parseVlmAnswer(text: string): { difference: string; description: string } | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const parsed = answerSchema.safeParse(JSON.parse(text.slice(start, end + 1)));
    return parsed.success
      ? { difference: parsed.data.difference.trim(), description: parsed.data.description.trim() }
      : null;
  } catch {
    return null;
  }
}

/** One client and one limiter shared by every VLM user of a run. */
export class VlmClient {
  readonly options: Required<Omit<VlmOptions, 'apiKey'>> & { apiKey: string };
  private readonly client: OpenAI;
  private readonly limiter: Bottleneck;
  /** Requests made (for reports). */
  calls = 0;

  /** With a cache, every answer is kept by request hash and counted against its budget. */
  constructor(
    options: VlmOptions,
    private readonly paid?: { cache: CallCache; prices: PriceTable },
  ) {
    this.options = { ...VLM_DEFAULTS, apiKey: 'not-needed', ...options };
    this.client = new OpenAI({
      baseURL: this.options.baseURL,
      apiKey: this.options.apiKey,
      timeout: this.options.timeoutMs,
      maxRetries: this.options.maxRetries,
    });
    this.limiter = new Bottleneck({ maxConcurrent: this.options.maxConcurrent });
  }

  /** A PNG as a data URL, scaled down so its longest side is at most `imageSide`. */
  async imagePart(png: Buffer): Promise<ChatCompletionContentPart> {
    const side = this.options.imageSide;
    const small = await sharp(png, { limitInputPixels: 40_000_000 })
      .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
      .png()
      .toBuffer();
    return { type: 'image_url', image_url: { url: `data:image/png;base64,${small.toString('base64')}` } };
  }

  async ask(content: ChatCompletionContentPart[]): Promise<string> {
    const o = this.options;
    const request = {
      model: o.model,
      temperature: o.temperature,
      top_p: o.topP,
      max_tokens: o.maxTokens,
      messages: [
        { role: 'system' as const, content: SYSTEM },
        { role: 'user' as const, content },
      ],
    };
    const call = async () => {
      const completion = await this.limiter.schedule(() => {
        this.calls++;
        return this.client.chat.completions.create(request);
      });
      const text = completion.choices[0]?.message?.content?.trim() ?? '';
      if (!text) throw new Error(`the vision model ${o.model} returned an empty answer`);
      const costUsd = this.paid ? (chatCost(this.paid.prices, o.model, completion.usage) ?? 0) : 0;
      return { value: text, costUsd };
    };
    if (!this.paid) return (await call()).value;
    const estimate = vlmCallEstimate(this.paid.prices, o.model);
    return (await this.paid.cache.get('vlm', request, estimate, call)).value;
  }
}

/** A simulated user played by a vision chat model. */
export class VlmUser implements SimulatedUser {
  readonly kind: string;
  private caption = '';
  private lastSynthetic: Buffer | null = null;
  private target: ChatCompletionContentPart | null = null;

  constructor(
    private readonly client: VlmClient,
    private readonly targetPng: Buffer,
    private readonly mode: { blind?: boolean } = {},
  ) {
    this.kind = mode.blind ? 'vlm-blind' : 'vlm';
  }

  /** The user's current caption of the target. */
  get description(): string {
    return this.caption;
  }

  async describe(): Promise<string> {
    this.target ??= await this.client.imagePart(this.targetPng);
    this.caption = oneLine(await this.client.ask([this.target, { type: 'text', text: CAPTION_PROMPT }]));
    return this.caption;
  }

  async respond(turn: BotTurn): Promise<string> {
    this.target ??= await this.client.imagePart(this.targetPng);
    if (turn.syntheticPng) this.lastSynthetic = turn.syntheticPng;
    let content: ChatCompletionContentPart[];
    if (this.mode.blind || !this.lastSynthetic) {
      content = [this.target, { type: 'text', text: blindPrompt(this.caption) }];
    } else {
      content = [
        { type: 'text', text: 'Image 1 (the image I remember):' },
        this.target,
        { type: 'text', text: 'Image 2 (drawn by the search system):' },
        await this.client.imagePart(this.lastSynthetic),
        { type: 'text', text: comparePrompt(this.caption, turn.query) },
      ];
    }
    const answer = await this.client.ask(content);
    const parsed = parseVlmAnswer(answer);
    // A model that ignores the JSON instruction still said something: use it as the correction.
    const difference = oneLine(parsed?.difference ?? answer);
    if (parsed) this.caption = oneLine(parsed.description);
    return this.client.options.message === 'caption' && parsed ? this.caption : difference;
  }
}

function oneLine(text: string): string {
  return text
    .replace(/^```\w*|```$/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
