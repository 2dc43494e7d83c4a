/**
 * ReplicateGenerator with the real `replicate` client against the local fake: the input table per
 * model family, sync wait then polling, output forms, size cap, safety refusals, cancel on abort,
 * and retries through the gate (the client's own retry loop neutralised).
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  buildInput,
  familyOf,
  nearestAspectRatio,
  ReplicateGenerator,
  type ReplicateGeneratorOptions,
} from '../../../adapters/generate/replicate/index.ts';
import { ImageTooLargeError, ProviderError } from '../../../adapters/providers/index.ts';
import { RefusedError } from '../../../core/errors.ts';
import { noisyPng, pngFor } from '../../fakes/openai/server.ts';
import { FakeReplicate, NSFW_ERROR } from '../../fakes/replicate/server.ts';
import { testGate, useFakeServer } from '../../support/providers.ts';

const fake = useFakeServer(new FakeReplicate());

function generator(o: Partial<ReplicateGeneratorOptions> = {}, sleeps: number[] = []) {
  // random() = 0: no back-off of its own, only what Retry-After asks for
  const gate = testGate('replicate', {
    retries: 2,
    random: () => 0,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return new ReplicateGenerator({
    apiToken: fake.token,
    baseUrl: fake.url,
    gate,
    waitSeconds: 5,
    pollIntervalMs: 5,
    deadlineMs: 120_000,
    ...o,
  });
}

const run = (g: ReplicateGenerator, signal = AbortSignal.timeout(10_000)) =>
  g.generate('an orange fox', { seed: 42, signal });

describe('Replicate input table', () => {
  const o = { seed: 7, width: 1024, height: 1024, outputFormat: 'png' as const };

  it('maps our options to FLUX schnell / dev, SD 3.5, SDXL and others', () => {
    expect(buildInput('black-forest-labs/flux-schnell', 'p', { ...o, steps: 9 })).toEqual({
      prompt: 'p',
      seed: 7,
      aspect_ratio: '1:1',
      megapixels: '1',
      num_outputs: 1,
      output_format: 'png',
      num_inference_steps: 4,
    });
    expect(
      buildInput('black-forest-labs/flux-dev', 'p', {
        ...o,
        width: 1344,
        height: 768,
        steps: 28,
        guidance: 3.5,
      }),
    ).toEqual({
      prompt: 'p',
      seed: 7,
      aspect_ratio: '16:9',
      megapixels: '1',
      num_outputs: 1,
      output_format: 'png',
      num_inference_steps: 28,
      guidance: 3.5,
    });
    expect(
      buildInput('stability-ai/stable-diffusion-3.5-large', 'p', {
        ...o,
        width: 512,
        height: 768,
        steps: 30,
        guidance: 4,
      }),
    ).toEqual({
      prompt: 'p',
      seed: 7,
      aspect_ratio: '2:3',
      output_format: 'png',
      steps: 30,
      cfg: 4,
    });
    expect(
      buildInput('stability-ai/sdxl:7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc', 'p', {
        ...o,
        width: 768,
        height: 768,
        guidance: 7,
      }),
    ).toEqual({
      prompt: 'p',
      seed: 7,
      width: 768,
      height: 768,
      num_outputs: 1,
      guidance_scale: 7,
    });
    expect(familyOf('someone/some-model').id).toBe('generic');
    expect(
      buildInput(
        'someone/some-model',
        'p',
        { ...o, seed: -1 },
        { style: 'anime', prompt: 'ignored', seed: 3 },
      ),
    ).toEqual({
      prompt: 'p',
      seed: 4294967295,
      style: 'anime',
    });
  });

  it('lets REPLICATE_INPUT override mapped values but never the prompt or the seed', () => {
    const input = buildInput('black-forest-labs/flux-schnell', 'the query', o, {
      output_format: 'webp',
      go_fast: false,
      prompt: 'x',
      seed: 1,
    });
    expect(input).toMatchObject({ prompt: 'the query', seed: 7, output_format: 'webp', go_fast: false });
  });

  it('picks the nearest accepted aspect ratio', () => {
    expect(nearestAspectRatio(1000, 1000)).toBe('1:1');
    expect(nearestAspectRatio(1920, 1080)).toBe('16:9');
    expect(nearestAspectRatio(1000, 1300)).toBe('3:4');
    expect(nearestAspectRatio(3000, 1000)).toBe('21:9');
  });
});

describe('ReplicateGenerator against the fake', () => {
  it('sync mode: one create with Prefer: wait and Cancel-After, PNG out, seed and cost recorded', async () => {
    const out = await run(generator());
    expect(out.png.subarray(1, 4).toString()).toBe('PNG');
    expect(out.seed).toBe(42);
    expect(out.costUsd).toBe(0.003);
    const [p] = [...fake.predictions.values()].slice(-1);
    expect(out.meta).toEqual({
      predictionId: p!.id,
      model: 'black-forest-labs/flux-schnell',
      predictTimeS: 0.42,
    });
    expect(p!.headers.prefer).toBe('wait=5');
    expect(p!.headers['cancel-after']).toBe('120s');
    expect(p!.headers.authorization).toBe(`Bearer ${fake.token}`);
    expect(p!.input).toMatchObject({
      prompt: 'an orange fox',
      seed: 42,
      aspect_ratio: '1:1',
      output_format: 'png',
    });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/models/black-forest-labs/flux-schnell/predictions',
      `GET /files/${p!.id}.png`,
    ]);
  });

  it('creates by version for owner/name:version models', async () => {
    fake.models.add('stability-ai/sdxl');
    await run(
      generator({
        model: 'stability-ai/sdxl:7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc',
      }),
    );
    expect(fake.requests[0]).toEqual({ method: 'POST', path: '/v1/predictions' });
    expect([...fake.predictions.values()].at(-1)?.version).toMatch(/^7762fd07/);
  });

  it('polls when the sync wait ends before the image is ready', async () => {
    fake.plans.push({ kind: 'after-polls', polls: 3 });
    const out = await run(generator());
    expect(out.png.subarray(1, 4).toString()).toBe('PNG');
    const id = [...fake.predictions.values()].at(-1)!.id;
    expect(fake.requests.filter((r) => r.path === `/v1/predictions/${id}`)).toHaveLength(3);
  });

  it('accepts a single URL, a data URI, and converts other formats to PNG', async () => {
    const jpeg = await sharp(await pngFor('x'))
      .jpeg()
      .toBuffer();
    fake.plans.push({ kind: 'succeed', image: jpeg, output: (url) => url });
    const a = await run(generator());
    expect(a.png.subarray(1, 4).toString()).toBe('PNG');
    const png = await pngFor('data');
    fake.plans.push({ kind: 'succeed', output: () => `data:image/png;base64,${png.toString('base64')}` });
    const b = await run(generator());
    expect(b.png.equals(await sharp(png).png().toBuffer())).toBe(true);
  });

  it('turns a safety-filter failure into RefusedError, without retrying', async () => {
    fake.plans.push({ kind: 'fail', error: NSFW_ERROR });
    const err = await run(generator()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/rephrase/);
    expect(fake.creates()).toHaveLength(1);
  });

  it('reports other model failures in a short message', async () => {
    fake.plans.push({ kind: 'fail', error: 'CUDA out of memory' });
    await expect(run(generator())).rejects.toThrow('replicate: the model failed (CUDA out of memory)');
  });

  it('refuses an image over the size cap (declared or streamed)', async () => {
    const big = await noisyPng(600);
    fake.plans.push({ kind: 'succeed', image: big });
    const err = await run(generator({ maxBytes: 50_000 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/too large \(\d+ bytes; the limit is 50000\)/);
    expect(new ImageTooLargeError(1, 0)).toBeInstanceOf(Error);
  });

  it('honours Retry-After on a 429 with exactly one more request (the client does not hammer)', async () => {
    const sleeps: number[] = [];
    fake.createAnswers.push({
      status: 429,
      headers: { 'retry-after': '1' },
      json: { detail: 'Request was throttled.', status: 429 },
    });
    const out = await run(generator({}, sleeps));
    expect(out.png.length).toBeGreaterThan(0);
    expect(fake.creates()).toHaveLength(2);
    expect(sleeps).toEqual([1000]);
  });

  it('gives up after the retries on 500s, one request per attempt', async () => {
    const sleeps: number[] = [];
    for (let i = 0; i < 3; i++)
      fake.createAnswers.push({ status: 500, json: { detail: 'Internal Server Error' } });
    const err = await run(generator({}, sleeps)).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'server', status: 500, attempts: 3 });
    expect(fake.creates()).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('reports malformed JSON as an unreadable answer, without retrying', async () => {
    fake.createAnswers.push({ status: 201, body: '{"id": "x", "status": ' });
    const err = await run(generator()).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'bad-response' });
    expect(fake.creates()).toHaveLength(1);
  });

  it('cancels the prediction when the round gives up while it is running', async () => {
    fake.plans.push({ kind: 'slow' });
    const g = generator();
    const controller = new AbortController();
    const pending = run(g, controller.signal);
    while (fake.requests.filter((r) => r.method === 'GET').length < 2)
      await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'aborted' });
    await g.close();
    const p = [...fake.predictions.values()].at(-1)!;
    expect(fake.cancels).toEqual([p.id]);
    expect(p.status).toBe('canceled');
  });

  it('retries a poll that times out, then finishes', async () => {
    fake.plans.push({ kind: 'after-polls', polls: 1 });
    fake.pollAnswers.push({ hang: true });
    const g = new ReplicateGenerator({
      apiToken: fake.token,
      baseUrl: fake.url,
      gate: testGate('replicate', { timeoutMs: 150 }),
      waitSeconds: 1,
      pollIntervalMs: 5,
    });
    const out = await run(g);
    expect(out.png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('names a wrong token plainly', async () => {
    const err = await run(generator({ apiToken: 'r8_wrong_token_value' })).catch((e: unknown) => e);
    expect((err as Error).message).toBe('replicate: the API key was rejected (HTTP 401)');
    expect((err as Error).message).not.toContain('r8_wrong');
  });
});
