/**
 * Query refiner over any OpenAI-compatible chat API (OpenAI, or Ollama / vLLM / LM Studio via
 * OPENAI_BASE_URL). Structured output by JSON schema when the server supports it, else JSON mode,
 * else a plain "answer with JSON" prompt; always validated with zod and checked to be a
 * description. One more try on an unusable answer or a refusal, then it throws and the engine
 * falls back to the rule refiner with a note in the round post.
 */
import OpenAI from 'openai';
import type { QueryRefiner, RefineInput, RefineResult } from '../../../core/ports.ts';
import { ProviderError } from '../../providers/errors.ts';
import type { ProviderGate } from '../../providers/gate.ts';
import { chatCost, type PriceTable, priceTable } from '../../providers/prices.ts';
import { buildMessages, OUTPUT_SCHEMA, parseRefinerOutput, RefinerOutputError } from './prompt.ts';

/** How to ask for JSON: auto starts with json-schema and steps down when the server refuses it. */
export type JsonMode = 'auto' | 'json-schema' | 'json-object' | 'prompt';

export interface OpenAIRefinerOptions {
  model: string;
  /** Not needed by most local servers (a placeholder is sent). */
  apiKey?: string | undefined;
  /** e.g. http://localhost:11434/v1 for Ollama; default https://api.openai.com/v1. */
  baseURL?: string | undefined;
  gate: ProviderGate;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  jsonMode?: JsonMode;
  /** Per-attempt timeout (default: the gate's); keep it under the round's refine timeout so one retry fits. */
  attemptTimeoutMs?: number;
  /** Longest description accepted (default 1200 characters). */
  maxQueryChars?: number;
  /** Earlier rounds shown to the model (default 6). */
  historyRounds?: number;
  prices?: PriceTable;
  /** Injected client (tests); built from apiKey/baseURL otherwise. */
  client?: OpenAI;
}

type Mode = Exclude<JsonMode, 'auto'>;
const MODES: Mode[] = ['json-schema', 'json-object', 'prompt'];

/** Answers (per the refiner's contract) are one attempt plus one retry. */
const ATTEMPTS = 2;

export class OpenAIRefiner implements QueryRefiner {
  readonly id: string;
  readonly model: string;
  /** Estimated spend so far (USD), from token usage and the price table. */
  costUsd = 0;
  readonly usage = { promptTokens: 0, completionTokens: 0, calls: 0 };
  private readonly client: OpenAI;
  private readonly gate: ProviderGate;
  private readonly prices: PriceTable;
  private mode: Mode;
  private readonly autoMode: boolean;
  private maxTokensKey: 'max_tokens' | 'max_completion_tokens' = 'max_tokens';
  private sampling = true;

  constructor(private readonly options: OpenAIRefinerOptions) {
    this.model = options.model;
    this.id = options.model;
    this.gate = options.gate;
    this.prices = options.prices ?? priceTable();
    this.autoMode = (options.jsonMode ?? 'auto') === 'auto';
    this.mode = this.autoMode ? 'json-schema' : (options.jsonMode as Mode);
    this.client =
      options.client ??
      new OpenAI({
        apiKey: options.apiKey || 'not-needed',
        ...(options.baseURL ? { baseURL: options.baseURL } : {}),
        maxRetries: 0, // the gate retries, with jitter and Retry-After
        timeout: 10 * 60_000, // the gate's per-attempt signal is the real timeout
      });
  }

  /** The JSON mode in use (it may have stepped down from json-schema). */
  get jsonMode(): Mode {
    return this.mode;
  }

  async refine(input: RefineInput, signal?: AbortSignal): Promise<RefineResult> {
    const messages = buildMessages(input, { historyRounds: this.options.historyRounds ?? 6 });
    const reasons: string[] = [];
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        const text = await this.complete(messages, signal);
        const out = parseRefinerOutput(text, { maxChars: this.options.maxQueryChars ?? 1200 });
        if (out.unclear !== undefined) {
          return { query: input.previous ?? '', understood: false, unrecognised: out.unclear };
        }
        return { query: out.query, intent: out.intent };
      } catch (err) {
        if (err instanceof RefinerOutputError) {
          reasons.push(err.message);
          continue;
        }
        if (err instanceof ProviderError && err.kind === 'bad-response') {
          reasons.push(err.message);
          continue;
        }
        throw err;
      }
    }
    const unique = [...new Set(reasons)];
    throw new Error(`no usable description after ${ATTEMPTS} tries: ${unique.join('; ')}`);
  }

  /** One chat completion through the gate; returns the reply text. Steps down JSON mode / params on 400. */
  private async complete(messages: ReturnType<typeof buildMessages>, signal?: AbortSignal): Promise<string> {
    for (let adjustments = 0; ; adjustments++) {
      const body = this.body(messages);
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await this.gate.run(
          'chat',
          (s) => this.client.chat.completions.create(body, { signal: s }),
          { signal, ...(this.options.attemptTimeoutMs ? { timeoutMs: this.options.attemptTimeoutMs } : {}) },
        );
      } catch (err) {
        if (adjustments < 4 && err instanceof ProviderError && this.adjustFor(err)) continue;
        throw err;
      }
      return this.replyText(completion);
    }
  }

  private body(
    messages: ReturnType<typeof buildMessages>,
  ): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming {
    const o = this.options;
    const body: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming = {
      model: this.model,
      messages,
      [this.maxTokensKey]: o.maxTokens ?? 500,
    };
    if (this.sampling) {
      body.temperature = o.temperature ?? 0.7;
      body.top_p = o.topP ?? 0.9;
    }
    if (this.mode === 'json-schema') {
      body.response_format = {
        type: 'json_schema',
        json_schema: {
          name: 'genir_query',
          strict: true,
          schema: OUTPUT_SCHEMA as unknown as Record<string, unknown>,
        },
      };
    } else if (this.mode === 'json-object') {
      body.response_format = { type: 'json_object' };
    }
    return body;
  }

  /** A 400/422 that names a parameter we can do without: adapt and say so. */
  private adjustFor(err: ProviderError): boolean {
    if (err.kind !== 'client' || (err.status !== 400 && err.status !== 422)) return false;
    const text = err.message.toLowerCase();
    if (this.maxTokensKey === 'max_tokens' && text.includes('max_completion_tokens')) {
      this.maxTokensKey = 'max_completion_tokens';
      return true;
    }
    if (this.sampling && /temperature|top_p/.test(text)) {
      this.sampling = false;
      return true;
    }
    if (
      this.autoMode &&
      /response_format|json_schema|json schema|structured|json_object|json mode/.test(text)
    ) {
      const next = MODES[MODES.indexOf(this.mode) + 1];
      if (next) {
        this.mode = next;
        return true;
      }
    }
    return false;
  }

  private replyText(completion: unknown): string {
    const c = completion as Partial<OpenAI.Chat.Completions.ChatCompletion> | string | null;
    if (!c || typeof c !== 'object' || !Array.isArray(c.choices)) {
      throw new RefinerOutputError('the server sent an answer that is not a chat completion');
    }
    this.track(c.usage);
    const choice = c.choices[0];
    if (!choice?.message) throw new RefinerOutputError('the answer has no message');
    const { message } = choice;
    if (message.refusal) throw new RefinerOutputError('the model refused', true);
    if (choice.finish_reason === 'content_filter')
      throw new RefinerOutputError('a content filter stopped the answer', true);
    if (choice.finish_reason === 'length')
      throw new RefinerOutputError('the answer was cut off at the token limit');
    if (typeof message.content !== 'string' || !message.content.trim()) {
      throw new RefinerOutputError('the answer is empty');
    }
    return message.content;
  }

  private track(usage: OpenAI.Completions.CompletionUsage | undefined): void {
    this.usage.calls++;
    if (!usage) return;
    this.usage.promptTokens += usage.prompt_tokens ?? 0;
    this.usage.completionTokens += usage.completion_tokens ?? 0;
    this.costUsd += chatCost(this.prices, this.model, usage) ?? 0;
  }
}
