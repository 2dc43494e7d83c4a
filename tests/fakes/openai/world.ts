/**
 * The engine world of tests/support/engine-world.ts with real providers swapped in (an
 * OpenAIRefiner, a ReplicateGenerator … pointed at the local fakes), the rule refiner as the
 * fallback, and a watch on unhandled promise rejections for the "no unhandled rejection" checks.
 */
import { RuleRefiner } from '../../../adapters/refine/rules/index.ts';
import type { EngineOptions } from '../../../core/engine.ts';
import type { ImageGenerator, QueryRefiner } from '../../../core/ports.ts';
import type { RunnerDeps } from '../../../core/round-runner.ts';
import { engineWorld } from '../../support/engine-world.ts';

export interface ProviderWorldOptions extends Partial<EngineOptions> {
  refiner?: QueryRefiner;
  generator?: ImageGenerator;
}

export async function providerWorld(options: ProviderWorldOptions = {}) {
  const { refiner, generator, ...engine } = options;
  const world = await engineWorld(engine);
  const deps = world.deps as unknown as RunnerDeps;
  if (refiner) deps.refiner = refiner;
  if (generator) deps.generator = generator;
  deps.fallbackRefiner = new RuleRefiner({ freeText: true });
  return world;
}

/** Collects unhandled rejections while a test runs. */
export function watchUnhandled(): { readonly errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onRejection = (reason: unknown) => errors.push(reason);
  process.on('unhandledRejection', onRejection);
  return {
    errors,
    stop: () => {
      process.off('unhandledRejection', onRejection);
    },
  };
}
