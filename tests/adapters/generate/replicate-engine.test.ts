/**
 * End to end through the engine with the real ReplicateGenerator (real `replicate` client → local
 * fake): every case ends with the right round post or message, no unhandled rejection, and the
 * thread's state intact.
 */
import { describe, expect, it } from 'vitest';
import { ReplicateGenerator } from '../../../adapters/generate/replicate/index.ts';
import { noisyPng } from '../../fakes/openai/server.ts';
import { providerWorld } from '../../fakes/openai/world.ts';
import { FakeReplicate, NSFW_ERROR } from '../../fakes/replicate/server.ts';
import { RecordingSink } from '../../support/engine-world.ts';
import { testGate, useFakeServer } from '../../support/providers.ts';

const KEY = 'test:replicate';
const fake = useFakeServer(new FakeReplicate(), { noUnhandled: true });

async function world(options: { generateTimeoutMs?: number; maxBytes?: number } = {}) {
  const generator = new ReplicateGenerator({
    apiToken: fake.token,
    baseUrl: fake.url,
    gate: testGate('replicate'),
    waitSeconds: 1,
    pollIntervalMs: 10,
    ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
  });
  const w = await providerWorld({ generator, generateTimeoutMs: options.generateTimeoutMs ?? 10_000 });
  const sink = new RecordingSink();
  await w.say(KEY, 'an orange fox', sink);
  const before = (await w.engine.thread(KEY))!;
  expect(before.rounds).toHaveLength(1);
  fake.requests.length = 0; // count only what the case itself sends
  return { ...w, generator, sink, before };
}

type World = Awaited<ReturnType<typeof world>>;

async function expectOneMoreRound(w: World) {
  const after = (await w.engine.thread(KEY))!;
  expect(after.rounds).toHaveLength(2);
  expect(after.version).toBe(w.before.version + 1);
  expect(after.rounds[0]).toEqual(w.before.rounds[0]);
  expect(w.sink.rounds()).toHaveLength(2);
  return after.rounds[1]!;
}

async function expectUnchanged(w: World) {
  const after = (await w.engine.thread(KEY))!;
  expect(after).toEqual(w.before);
  expect(w.sink.rounds()).toHaveLength(1);
}

const REUSED = /^I could not draw this round \((.+)\); these matches reuse the previous round's picture\.$/;

describe('ReplicateGenerator in the engine', () => {
  it('success: the round shows the generated picture and records generator, seed, latency and cost', async () => {
    const w = await world();
    const first = w.before.rounds[0]!;
    expect(first.generated).toMatchObject({
      generatorId: 'replicate:black-forest-labs/flux-schnell',
      costUsd: 0.003,
    });
    expect(first.generated?.latencyMs).toBeGreaterThanOrEqual(0);
    const p = [...fake.predictions.values()].at(-1)!;
    expect(p.input.seed).toBe(first.generated!.seed >>> 0);
    const view = w.sink.rounds()[0]!;
    expect(view.syntheticPng?.subarray(1, 4).toString()).toBe('PNG');
    expect(view.notes).toEqual([]);
  });

  it('429 then success: the round is normal', async () => {
    const w = await world();
    fake.createAnswers.push({ status: 429, headers: { 'retry-after': '0' }, json: { detail: 'throttled' } });
    await w.say(KEY, 'facing left', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes).toEqual([]);
    expect(round.generated?.generatorId).toBe('replicate:black-forest-labs/flux-schnell');
    expect(fake.creates()).toHaveLength(2);
  });

  it('500 until retries are exhausted: the round reuses the previous picture and says why', async () => {
    const w = await world();
    fake.createAnswers.push(
      { status: 500, json: { detail: 'boom' } },
      { status: 500, json: { detail: 'boom' } },
    );
    await w.say(KEY, 'facing left', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.generated).toBeNull();
    expect(round.baseVector).toEqual(w.before.rounds[0]!.baseVector);
    expect(round.notes[0]).toMatch(REUSED);
    expect(round.notes[0]).toContain('replicate: the service failed (HTTP 500), gave up after 2 attempts');
  });

  it('500 on the very first round: a clear message, nothing saved', async () => {
    const generator = new ReplicateGenerator({
      apiToken: fake.token,
      baseUrl: fake.url,
      gate: testGate('replicate', { retries: 0 }),
    });
    const w = await providerWorld({ generator });
    const sink = new RecordingSink();
    fake.createAnswers.push({ status: 503, json: { detail: 'unavailable' } });
    await w.say('test:first', 'a red circle', sink);
    expect(sink.rounds()).toEqual([]);
    expect(sink.notices()).toEqual([
      'I could not draw a picture for that (replicate: the service failed (HTTP 503)). Nothing was lost: try again.',
    ]);
    expect(await w.engine.thread('test:first')).toBeNull();
  });

  it('timeout: a generation that outlives the round is cancelled and the round falls back', async () => {
    const w = await world({ generateTimeoutMs: 300 });
    fake.plans.push({ kind: 'slow' });
    await w.say(KEY, 'with a hat', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes[0]).toMatch(REUSED);
    expect(round.notes[0]).toContain('replicate: took longer than the round allows, so I stopped it');
    await w.generator.close();
    const slow = [...fake.predictions.values()].at(-1)!;
    expect(fake.cancels).toEqual([slow.id]);
  });

  it('malformed JSON: the round falls back with a note', async () => {
    const w = await world();
    fake.createAnswers.push({ status: 201, body: 'not json' });
    await w.say(KEY, 'with a hat', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes[0]).toMatch(REUSED);
    expect(round.notes[0]).toContain('replicate: unreadable answer (malformed JSON)');
  });

  it('safety refusal: asks to rephrase, keeps the thread as it was, no retry', async () => {
    const w = await world();
    fake.plans.push({ kind: 'fail', error: NSFW_ERROR });
    await w.say(KEY, 'something unsafe', w.sink);
    await expectUnchanged(w);
    expect(w.sink.notices()).toEqual([
      "The image service's safety filter refused to draw this description. Please rephrase it and send it again.",
    ]);
    expect(fake.creates()).toHaveLength(1);
  });

  it('an oversized image: refused by the size cap, the round falls back with a note', async () => {
    const w = await world({ maxBytes: 40_000 });
    const big = await noisyPng(500);
    fake.plans.push({ kind: 'succeed', image: big });
    await w.say(KEY, 'more detail', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes[0]).toMatch(REUSED);
    expect(round.notes[0]).toMatch(/the image is too large \(\d+ bytes; the limit is 40000\)/);
  });

  it('a slow generation is cancelled when the thread moves on; one round answers both messages', async () => {
    const w = await world({ generateTimeoutMs: 60_000 });
    fake.plans.push({ kind: 'slow' }, { kind: 'succeed' });
    const slowRound = w.say(KEY, 'make it red', w.sink);
    // the person writes again while the picture is still being drawn (the bot is polling for it)
    const polled = () => fake.requests.some((r) => r.method === 'GET' && r.path.includes('/predictions/'));
    while (!polled()) await new Promise((r) => setTimeout(r, 5));
    const next = w.say(KEY, 'no, blue', w.sink);
    await Promise.all([slowRound, next]);
    await w.generator.close();

    const state = (await w.engine.thread(KEY))!;
    expect(state.rounds).toHaveLength(2);
    expect(state.version).toBe(w.before.version + 1);
    expect(state.rounds[0]).toEqual(w.before.rounds[0]);
    const moved = state.rounds[1]!;
    expect(moved.userText).toBe('make it red\nno, blue');
    expect(moved.notes).toEqual([]);
    expect(moved.generated?.generatorId).toBe('replicate:black-forest-labs/flux-schnell');
    const slow = [...fake.predictions.values()].filter((p) => p.plan.kind === 'slow').at(-1)!;
    expect(fake.cancels).toEqual([slow.id]);
    expect(slow.status).toBe('canceled');
    expect(w.sink.rounds().map((v) => v.roundNumber)).toEqual([1, 2]);
  });
});
