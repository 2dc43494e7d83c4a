import { type LoadedEncoder, loadImageEncoder } from '../adapters/encode/onnx/clip.ts';
import { OpenAIImageGenerator } from '../adapters/generate/openai/index.ts';
import { ReplicateGenerator } from '../adapters/generate/replicate/index.ts';
import { SketchGenerator } from '../adapters/generate/sketch/index.ts';
import { ProviderGate, parsePriceTable, priceTable } from '../adapters/providers/index.ts';
import { OpenAIRefiner } from '../adapters/refine/openai/index.ts';
import { RuleRefiner } from '../adapters/refine/rules/index.ts';
import type { ImageGenerator, Logger, QueryRefiner } from '../core/ports.ts';
import { type Config, ConfigError } from './config.ts';

/** The bot's encoder: the image tower, plus the CLIP text tower when ENCODER_TEXT_MODEL is set. */
export async function loadQueryEncoder(config: Config): Promise<LoadedEncoder> {
  return loadImageEncoder({
    modelPath: config.ENCODER_MODEL,
    configPath: config.ENCODER_CONFIG,
    textModelPath: config.ENCODER_TEXT_MODEL,
    tokenizerPath: config.ENCODER_TOKENIZER,
    intraOpThreads: config.ENCODER_THREADS || undefined,
    workers: config.ENCODER_WORKERS || undefined,
  });
}

export interface Providers {
  refiner: QueryRefiner;
  fallbackRefiner?: QueryRefiner;
  generator: ImageGenerator;
  close(): Promise<void>;
}

/** REFINER / GENERATOR from config; each real provider behind its own ProviderGate (PROVIDER_*). */
export function buildProviders(config: Config, logger: Logger): Providers {
  let prices: ReturnType<typeof priceTable>;
  try {
    prices = priceTable(parsePriceTable(config.MODEL_PRICES));
  } catch (err) {
    throw new ConfigError(
      `Invalid configuration:\n  ${(err as Error).message}\nSee .env.example for every variable.`,
    );
  }
  const gates: ProviderGate[] = [];
  const gate = (name: string) => {
    const g = new ProviderGate({
      name,
      maxConcurrent: config.PROVIDER_MAX_CONCURRENT,
      perMinute: config.PROVIDER_PER_MINUTE,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      retries: config.PROVIDER_RETRIES,
      onRetry: (r) =>
        logger.warn(
          {
            provider: r.provider,
            call: r.label,
            attempt: r.attempt,
            delayMs: r.delayMs,
            kind: r.failure.kind,
            status: r.failure.status,
          },
          'provider call retried',
        ),
    });
    gates.push(g);
    return g;
  };
  const rules = new RuleRefiner();

  let refiner: QueryRefiner = rules;
  let fallbackRefiner: QueryRefiner | undefined;
  if (config.REFINER === 'openai') {
    if (!config.OPENAI_API_KEY && !config.OPENAI_BASE_URL) {
      throw new ConfigError(
        'REFINER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server such as Ollama). See docs/providers.md.',
      );
    }
    refiner = new OpenAIRefiner({
      model: config.REFINER_MODEL,
      apiKey: config.OPENAI_API_KEY,
      baseURL: config.OPENAI_BASE_URL,
      gate: gate('openai'),
      temperature: config.REFINER_TEMPERATURE,
      topP: config.REFINER_TOP_P,
      maxTokens: config.REFINER_MAX_TOKENS,
      jsonMode: config.REFINER_JSON_MODE,
      // one retry must fit in the round's refine budget
      attemptTimeoutMs: Math.min(config.PROVIDER_TIMEOUT_MS, Math.floor(config.REFINE_TIMEOUT_MS / 2)),
      prices,
    });
    fallbackRefiner = rules;
  }

  let generator: ImageGenerator = new SketchGenerator();
  if (config.GENERATOR === 'replicate') {
    if (!config.REPLICATE_API_TOKEN) {
      throw new ConfigError('GENERATOR=replicate needs REPLICATE_API_TOKEN. See docs/providers.md.');
    }
    generator = new ReplicateGenerator({
      apiToken: config.REPLICATE_API_TOKEN,
      model: config.REPLICATE_MODEL,
      baseUrl: config.REPLICATE_BASE_URL,
      gate: gate('replicate'),
      size: config.IMAGE_SIZE,
      steps: config.IMAGE_STEPS,
      guidance: config.IMAGE_GUIDANCE,
      rawInput: config.REPLICATE_INPUT,
      waitSeconds: config.REPLICATE_WAIT_SECONDS,
      deadlineMs: config.GENERATE_TIMEOUT_MS,
      maxBytes: config.IMAGE_MAX_BYTES,
      prices,
      logger,
    });
  } else if (config.GENERATOR === 'openai-images') {
    const baseURL = config.IMAGE_BASE_URL ?? config.OPENAI_BASE_URL;
    if (!config.OPENAI_API_KEY && !baseURL) {
      throw new ConfigError(
        'GENERATOR=openai-images needs OPENAI_API_KEY (or IMAGE_BASE_URL for a compatible server). See docs/providers.md.',
      );
    }
    generator = new OpenAIImageGenerator({
      model: config.IMAGE_MODEL,
      apiKey: config.OPENAI_API_KEY,
      baseURL,
      gate: gate('openai-images'),
      size: config.IMAGE_SIZE,
      quality: config.IMAGE_QUALITY,
      maxBytes: config.IMAGE_MAX_BYTES,
      prices,
    });
  }

  return {
    refiner,
    ...(fallbackRefiner ? { fallbackRefiner } : {}),
    generator,
    async close() {
      if (generator instanceof ReplicateGenerator) await generator.idle();
      await Promise.all(gates.map((g) => g.stop()));
    },
  };
}
