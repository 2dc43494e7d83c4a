/**
 * OpenAIImageGenerator with the real `openai` client against the local fake, alone and inside
 * the engine: base64 and URL answers, DALL·E specifics, refusals, retries, the size cap.
 */
import { describe, expect, it } from 'vitest';
import {
  OpenAIImageGenerator,
  type OpenAIImageGeneratorOptions,
} from '../../../adapters/generate/openai/index.ts';
import { RefusedError } from '../../../core/errors.ts';
import { FakeOpenAI, pngFor, rateLimited, serverError } from '../../fakes/openai/server.ts';
import { providerWorld } from '../../fakes/openai/world.ts';
import { RecordingSink } from '../../support/engine-world.ts';
import { testGate, useFakeServer } from '../../support/providers.ts';

const fake = useFakeServer(new FakeOpenAI(), { noUnhandled: true });

const generator = (o: Partial<OpenAIImageGeneratorOptions> = {}) =>
  new OpenAIImageGenerator({
    apiKey: 'sk-test',
    baseURL: fake.url,
    gate: testGate('openai-images'),
    ...o,
  });

const draw = (g: OpenAIImageGenerator) =>
  g.generate('an orange fox', { seed: 9, signal: AbortSignal.timeout(10_000) });

const policy = (code: string) => ({
  status: 400,
  json: {
    error: {
      message: 'Your request was rejected as a result of our safety system.',
      type: 'image_generation_user_error',
      code,
    },
  },
});

describe('OpenAIImageGenerator', () => {
  it('gpt-image-1: base64 answer, no response_format sent, cost from the answered quality', async () => {
    const out = await draw(generator());
    expect(out.png.subarray(1, 4).toString()).toBe('PNG');
    expect(out.seed).toBe(9);
    expect(out.costUsd).toBe(0.011);
    const body = fake.calls('/v1/images/generations')[0]!.body;
    expect(body).toEqual({ model: 'gpt-image-1', prompt: 'an orange fox', n: 1, size: '1024x1024' });
  });

  it('dall-e-3: asks for base64, passes quality, keeps the revised prompt as the interpretation', async () => {
    const png = await pngFor('dalle');
    fake.images.push({
      json: {
        created: 0,
        data: [{ b64_json: png.toString('base64'), revised_prompt: 'A vivid orange fox.' }],
      },
    });
    const out = await draw(generator({ model: 'dall-e-3', quality: 'hd' }));
    expect(out.interpretation).toBe('A vivid orange fox.');
    expect(out.costUsd).toBe(0.08);
    expect(fake.calls('/v1/images/generations')[0]!.body).toMatchObject({
      response_format: 'b64_json',
      quality: 'hd',
    });
  });

  it('URL answers (compatible servers) are downloaded', async () => {
    fake.files.set('fox.png', await pngFor('url'));
    fake.images.push({ json: { created: 0, data: [{ url: `${fake.origin}/files/fox.png` }] } });
    const out = await draw(generator({ model: 'local-sd' }));
    expect(out.png.subarray(1, 4).toString()).toBe('PNG');
    expect(out.costUsd).toBeUndefined();
    expect(fake.calls('/files/fox.png')).toHaveLength(1);
  });

  for (const code of ['content_policy_violation', 'moderation_blocked']) {
    it(`a ${code} refusal becomes RefusedError, without retrying`, async () => {
      fake.images.push(policy(code));
      const err = await draw(generator()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toMatch(/Please rephrase it/);
      expect(fake.calls('/v1/images/generations')).toHaveLength(1);
    });
  }

  it('429 then success', async () => {
    fake.images.push(rateLimited(0));
    const out = await draw(generator());
    expect(out.png.length).toBeGreaterThan(0);
    expect(fake.calls('/v1/images/generations')).toHaveLength(2);
  });

  it('500 until the retries are exhausted', async () => {
    fake.images.push(serverError(), serverError());
    await expect(draw(generator())).rejects.toThrow(
      'openai-images: the service failed (HTTP 500), gave up after 2 attempts',
    );
  });

  it('malformed JSON and answers without an image are reported plainly', async () => {
    fake.images.push({ body: '{"data": [' });
    await expect(draw(generator())).rejects.toThrow('openai-images: unreadable answer (malformed JSON)');
    fake.images.push({ json: { created: 0, data: [] } });
    await expect(draw(generator())).rejects.toThrow('openai-images: the answer has no image');
  });

  it('refuses an oversized image: base64 before decoding, URL while streaming without Content-Length', async () => {
    const big = Buffer.alloc(300_000, 7).toString('base64');
    fake.images.push({ json: { created: 0, data: [{ b64_json: big }] } });
    await expect(draw(generator({ maxBytes: 100_000 }))).rejects.toThrow(
      /openai-images: the image is too large \(\d+ bytes; the limit is 100000\)/,
    );

    // a server that streams the image in chunks, without announcing its length
    const chunked: typeof fetch = async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(10_000));
            controller.close();
          },
        }),
        { status: 200, headers: { 'content-type': 'image/png' } },
      );
    fake.images.push({ json: { created: 0, data: [{ url: 'http://127.0.0.1:9/huge.png' }] } });
    await expect(draw(generator({ maxBytes: 100_000, fetch: chunked }))).rejects.toThrow(
      'openai-images: the image is too large (more than 100000 bytes; the limit is 100000)',
    );
  });

  it('rejects bytes that are not an image', async () => {
    fake.images.push({
      json: { created: 0, data: [{ b64_json: Buffer.from('not an image at all').toString('base64') }] },
    });
    await expect(draw(generator())).rejects.toThrow(
      /^openai-images: the service sent something that is not a usable image/,
    );
  });
});

describe('OpenAIImageGenerator in the engine', () => {
  const KEY = 'test:openai-images';

  async function world() {
    const w = await providerWorld({ generator: generator() });
    const sink = new RecordingSink();
    await w.say(KEY, 'an orange fox', sink);
    const before = (await w.engine.thread(KEY))!;
    return { ...w, sink, before };
  }

  it('success: the round records the generator and its estimated cost', async () => {
    const w = await world();
    expect(w.before.rounds[0]!.generated).toMatchObject({
      generatorId: 'openai-images:gpt-image-1',
      costUsd: 0.011,
    });
    expect(w.sink.rounds()[0]?.notes).toEqual([]);
  });

  it('a refusal asks to rephrase and leaves the thread as it was', async () => {
    const w = await world();
    fake.images.push(policy('moderation_blocked'));
    await w.say(KEY, 'something unsafe', w.sink);
    expect(await w.engine.thread(KEY)).toEqual(w.before);
    expect(w.sink.notices()).toEqual([
      "The image service's safety system refused to draw this description. Please rephrase it and send it again.",
    ]);
  });

  it('an oversized image: the round reuses the previous picture and says why', async () => {
    const w = await world();
    const small = generator({ maxBytes: 20_000 });
    (w.deps as unknown as { generator: OpenAIImageGenerator }).generator = small;
    fake.images.push({
      json: { created: 0, data: [{ b64_json: Buffer.alloc(60_000, 1).toString('base64') }] },
    });
    await w.say(KEY, 'bigger', w.sink);
    const after = (await w.engine.thread(KEY))!;
    expect(after.rounds).toHaveLength(2);
    expect(after.rounds[0]).toEqual(w.before.rounds[0]);
    expect(after.rounds[1]!.notes[0]).toMatch(
      /^I could not draw this round \(openai-images: the image is too large \(\d+ bytes; the limit is 20000\)\); these matches reuse the previous round's picture\.$/,
    );
  });
});
