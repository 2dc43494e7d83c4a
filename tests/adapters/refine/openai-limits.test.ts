/**
 * The provider gate (adapters/providers): limiter, per-attempt timeout, retries with full jitter
 * honouring Retry-After, no retry on 4xx / refusals / caller aborts; plus the price table. Driven
 * through the real `openai` client against the local fake where an HTTP answer matters.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  chatCost,
  classify,
  imageCost,
  ProviderError,
  ProviderGate,
  parsePriceTable,
  parseRetryAfter,
  priceTable,
  type RetryInfo,
} from '../../../adapters/providers/index.ts';
import { RefusedError } from '../../../core/errors.ts';
import { FakeOpenAI, rateLimited, serverError } from '../../fakes/openai/server.ts';
import { closedPort } from '../../fakes/shared/http.ts';
import { useFakeServer } from '../../support/providers.ts';

const fake = useFakeServer(new FakeOpenAI());

function gate(overrides: Partial<ConstructorParameters<typeof ProviderGate>[0]> = {}) {
  const sleeps: number[] = [];
  const retries: RetryInfo[] = [];
  const g = new ProviderGate({
    name: 'openai',
    maxConcurrent: 4,
    perMinute: 0,
    timeoutMs: 2_000,
    retries: 2,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onRetry: (info) => retries.push(info),
    ...overrides,
  });
  return { g, sleeps, retries };
}

const client = () => new OpenAI({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 });
const chat = (s: AbortSignal) =>
  client().chat.completions.create(
    {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: JSON.stringify({ new_message: 'a red fox' }) }],
    },
    { signal: s },
  );

describe('ProviderGate retries', () => {
  it('waits the Retry-After a 429 asks for, then succeeds', async () => {
    const { g, sleeps, retries } = gate();
    fake.chat.push(rateLimited(3));
    const out = await g.run('chat', chat);
    expect(out.choices[0]?.message.content).toContain('a red fox');
    expect(fake.calls('/v1/chat/completions')).toHaveLength(2);
    expect(sleeps).toEqual([3000]);
    expect(retries[0]).toMatchObject({
      provider: 'openai',
      label: 'chat',
      attempt: 1,
      failure: { kind: 'rate-limit', status: 429 },
    });
  });

  it('backs off with full jitter on 5xx and gives up after the configured retries', async () => {
    const { g, sleeps } = gate({ retries: 3, random: () => 1, baseDelayMs: 100, maxDelayMs: 350 });
    fake.chat.push(serverError(), serverError(), serverError(), serverError(), serverError());
    const err = await g.run('chat', chat).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'server', status: 500, attempts: 4 });
    expect((err as Error).message).toBe('openai: the service failed (HTTP 500), gave up after 4 attempts');
    // random() = 1 → min(cap, base · 2^attempt)
    expect(sleeps).toEqual([100, 200, 350]);
    expect(fake.calls('/v1/chat/completions')).toHaveLength(4);
  });

  it('does not retry other 4xx answers and says what was wrong', async () => {
    const { g, sleeps } = gate();
    fake.apiKey = 'sk-right';
    try {
      const err = await g.run('chat', chat).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'client', status: 401, attempts: 1 });
      expect((err as Error).message).toBe('openai: the API key was rejected (HTTP 401)');
      expect(sleeps).toEqual([]);
    } finally {
      fake.apiKey = undefined;
    }
  });

  it('retries network errors (connection refused) and reports them', async () => {
    const port = await closedPort();
    const { g, sleeps } = gate({ retries: 1 });
    const err = await g
      .run('chat', (s) =>
        new OpenAI({ apiKey: 'x', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 }).models.list({
          signal: s,
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'network', attempts: 2 });
    expect((err as Error).message).toMatch(/^openai: cannot reach the service/);
    expect(sleeps).toHaveLength(1);
  });

  it('times out a hanging attempt and retries it', async () => {
    const { g } = gate({ timeoutMs: 150, retries: 1 });
    fake.chat.push({ hang: true });
    const out = await g.run('chat', chat);
    expect(out.choices).toHaveLength(1);
    expect(fake.calls('/v1/chat/completions')).toHaveLength(2);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    const { g, sleeps } = gate({ timeoutMs: 10_000 });
    fake.chat.push({ hang: true });
    const controller = new AbortController();
    const pending = g.run('chat', chat, { signal: controller.signal });
    while (fake.calls('/v1/chat/completions').length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'aborted' });
    expect(sleeps).toEqual([]);
    expect(fake.calls('/v1/chat/completions')).toHaveLength(1);
  });

  it('fails now, naming the wait, when Retry-After is longer than a round can wait', async () => {
    const { g, sleeps } = gate({ maxRetryAfterMs: 10_000 });
    fake.chat.push(rateLimited(120));
    const err = await g.run('chat', chat).catch((e: unknown) => e);
    expect((err as Error).message).toBe('openai: rate limited (HTTP 429); the service asks to wait 120 s');
    expect(sleeps).toEqual([]);
  });

  it('lets a refusal through untouched and never retries it', async () => {
    const { g } = gate();
    let calls = 0;
    const refusal = new RefusedError('Please rephrase.');
    const err = await g
      .run('images', async () => {
        calls++;
        throw refusal;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(refusal);
    expect(calls).toBe(1);
  });
});

describe('ProviderGate limits', () => {
  it('never runs more than maxConcurrent calls at once', async () => {
    const { g } = gate({ maxConcurrent: 2 });
    let inFlight = 0;
    let maxInFlight = 0;
    let started = 0;
    let release!: () => void;
    const gateOpen = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls = Array.from({ length: 6 }, (_, i) =>
      g.run('job', async () => {
        started++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await gateOpen;
        inFlight--;
        return i;
      }),
    );
    while (started < 2) await new Promise((r) => setTimeout(r, 2));
    expect(g.queue().waiting).toBe(4);
    release();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxInFlight).toBe(2);
    expect(started).toBe(6);
  });

  it('holds calls beyond the per-minute budget, and a queued call can be abandoned', async () => {
    const { g } = gate({ perMinute: 3 });
    let ran = 0;
    const job = async () => {
      ran++;
      return ran;
    };
    await Promise.all([g.run('a', job), g.run('b', job), g.run('c', job)]);
    expect(await g.reservoir()).toBe(0);
    const controller = new AbortController();
    const fourth = g.run('d', job, { signal: controller.signal });
    while (g.queue().waiting === 0) await new Promise((r) => setTimeout(r, 2));
    controller.abort();
    expect(await fourth.catch((e: unknown) => e)).toMatchObject({ kind: 'aborted' });
    expect(ran).toBe(3);
    await g.stop();
  });
});

describe('error classification', () => {
  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
  });

  it('understands the replicate client errors and keeps secrets out of details', () => {
    const response = new Response('{"detail":"Invalid token r8_abcdefghijkl"}', {
      status: 429,
      headers: { 'retry-after': '1' },
    });
    const err = Object.assign(
      new Error(
        'Request to https://api.replicate.com/v1/x failed with status 429 Too Many Requests: {"detail":"Invalid token r8_abcdefghijkl"}.',
      ),
      {
        response,
      },
    );
    const f = classify(err);
    expect(f).toMatchObject({ kind: 'rate-limit', status: 429, retryAfterMs: 1000 });
    expect(f.detail).not.toContain('r8_abcdefghijkl');
    expect(classify(new SyntaxError('Unexpected token'))).toMatchObject({ kind: 'bad-response' });
    expect(
      classify(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } })),
    ).toMatchObject({
      kind: 'network',
      detail: 'ECONNRESET',
    });
  });
});

describe('price table', () => {
  it('estimates image and chat costs, with overrides from MODEL_PRICES', () => {
    const table = priceTable(
      parsePriceTable({
        'black-forest-labs/flux-dev': { perImage: 0.03 },
        'gemma3:4b': { inputPerMTok: 0, outputPerMTok: 0 },
      }),
    );
    expect(imageCost(table, 'black-forest-labs/flux-schnell')).toBe(0.003);
    expect(imageCost(table, 'black-forest-labs/flux-dev:abcdef0123456789')).toBe(0.03);
    expect(imageCost(table, 'gpt-image-1', 1, 'high')).toBe(0.167);
    expect(imageCost(table, 'gpt-image-1')).toBe(0.042);
    expect(imageCost(table, 'dall-e-3', 2, 'hd')).toBe(0.16);
    expect(imageCost(table, 'someone/unknown-model')).toBeUndefined();
    expect(chatCost(table, 'gpt-4o-mini', { prompt_tokens: 1_000_000, completion_tokens: 500_000 })).toBe(
      0.45,
    );
    expect(chatCost(table, 'gemma3:4b', { prompt_tokens: 500, completion_tokens: 50 })).toBe(0);
  });

  it('rejects a malformed price entry, naming it', () => {
    expect(() => parsePriceTable({ 'x/y': { perImage: -1 } })).toThrow(/MODEL_PRICES: x\/y\.perImage/);
    expect(() => parsePriceTable({ 'x/y': { per_image: 1 } })).toThrow(/MODEL_PRICES/);
  });
});
