/**
 * Set-up shared by the provider tests (real `openai` / `replicate` clients against the local
 * fakes): the fake server's lifetime within a test file, and a ProviderGate with test timings.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { ProviderGate } from '../../adapters/providers/index.ts';
import { watchUnhandled } from '../fakes/openai/world.ts';

export interface FakeServer {
  listen(): Promise<void>;
  close(): Promise<void>;
  /** Forgets what tests scripted and what was requested. */
  reset(): void;
}

/**
 * Runs `fake` for the test file: listening before the first test, reset after each, closed after
 * the last. With `noUnhandled`, a test also fails when it leaves an unhandled promise rejection.
 */
export function useFakeServer<F extends FakeServer>(fake: F, options: { noUnhandled?: boolean } = {}): F {
  let unhandled: ReturnType<typeof watchUnhandled> | undefined;
  beforeAll(() => fake.listen());
  afterAll(() => fake.close());
  if (options.noUnhandled) {
    beforeEach(() => {
      unhandled = watchUnhandled();
    });
  }
  afterEach(() => {
    if (unhandled) {
      unhandled.stop();
      expect(unhandled.errors).toEqual([]);
    }
    fake.reset();
  });
  return fake;
}

type GateOptions = ConstructorParameters<typeof ProviderGate>[0];

/** A gate for `name` with test timings: 2 at once, no rate limit, 2 s per attempt, one quick retry. */
export function testGate(name: string, overrides: Partial<GateOptions> = {}): ProviderGate {
  return new ProviderGate({
    name,
    maxConcurrent: 2,
    perMinute: 0,
    timeoutMs: 2_000,
    retries: 1,
    baseDelayMs: 1,
    ...overrides,
  });
}
