import { SketchGenerator } from '../adapters/generate/sketch/index.ts';
import { ProviderGate, priceTable } from '../adapters/providers/index.ts';
import { RuleRefiner } from '../adapters/refine/rules/index.ts';
import type { ImageGenerator, Logger, QueryRefiner } from '../core/ports.ts';
import { type Config, required } from './config.ts';

export interface Providers {
  refiner: QueryRefiner;
  fallbackRefiner?: QueryRefiner;
  generator: ImageGenerator;
  close(): Promise<void>;
}

/**
 * REFINER / GENERATOR from config (bots/config.ts checks the variables each one needs); each real
 * provider behind its own ProviderGate (PROVIDER_*). A provider's SDK is loaded only when it is configured.
 */
export async function buildProviders(config: Config, logger: Logger): Promise<Providers> {
  const prices = priceTable(config.MODEL_PRICES);
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
  // Beyond the sketch generator's shapes, any words are a description someone can draw.
  const rules = new RuleRefiner({ freeText: config.GENERATOR !== 'sketch' });

  let refiner: QueryRefiner = rules;
  let fallbackRefiner: QueryRefiner | undefined;
  if (config.REFINER === 'openai') {
    const { OpenAIRefiner } = await import('../adapters/refine/openai/index.ts');
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
    const { ReplicateGenerator } = await import('../adapters/generate/replicate/index.ts');
    generator = new ReplicateGenerator({
      apiToken: required(config, 'REPLICATE_API_TOKEN'),
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
    const { OpenAIImageGenerator } = await import('../adapters/generate/openai/index.ts');
    generator = new OpenAIImageGenerator({
      model: config.IMAGE_MODEL,
      apiKey: config.OPENAI_API_KEY,
      baseURL: config.IMAGE_BASE_URL ?? config.OPENAI_BASE_URL,
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
      await Promise.all([refiner.close?.(), generator.close?.()]);
      await Promise.all(gates.map((g) => g.stop()));
    },
  };
}
