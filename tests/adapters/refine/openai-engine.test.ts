/**
 * End to end through the engine: the real OpenAIRefiner (real `openai` client → local fake) as
 * the thread's refiner, the rule refiner as its fallback. Every case ends with the right round
 * post or message, no unhandled rejection, and the thread's state intact.
 */
import { describe, expect, it } from 'vitest';
import { OpenAIRefiner } from '../../../adapters/refine/openai/index.ts';
import { completion, FakeOpenAI, rateLimited, refined, serverError } from '../../fakes/openai/server.ts';
import { providerWorld } from '../../fakes/openai/world.ts';
import { RecordingSink } from '../../support/engine-world.ts';
import { testGate, useFakeServer } from '../../support/providers.ts';

const KEY = 'test:openai-refiner';
const fake = useFakeServer(new FakeOpenAI(), { noUnhandled: true });

async function world() {
  const refiner = new OpenAIRefiner({
    model: 'gpt-4o-mini',
    apiKey: 'sk-test',
    baseURL: fake.url,
    gate: testGate('openai', { timeoutMs: 300 }),
  });
  const w = await providerWorld({ refiner, refineTimeoutMs: 5_000 });
  const sink = new RecordingSink();
  await w.say(KEY, 'an orange fox', sink);
  const before = await w.engine.thread(KEY);
  expect(before?.rounds).toHaveLength(1);
  return { ...w, sink, before: before! };
}

/** The thread gained exactly one round and kept the earlier ones unchanged. */
async function expectOneMoreRound(w: Awaited<ReturnType<typeof world>>) {
  const after = await w.engine.thread(KEY);
  expect(after?.rounds).toHaveLength(2);
  expect(after?.version).toBe(w.before.version + 1);
  expect(after?.rounds[0]).toEqual(w.before.rounds[0]);
  return after!.rounds[1]!;
}

describe('OpenAIRefiner in the engine', () => {
  it("success: the round uses the model's description, without a note", async () => {
    const w = await world();
    expect(w.sink.rounds()[0]?.query).toBe('an orange fox');
    fake.chat.push({ json: refined('An orange fox facing left on a teal background.') });
    await w.say(KEY, 'it faces left, background teal', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.query).toBe('An orange fox facing left on a teal background.');
    expect(round.notes).toEqual([]);
    expect(w.sink.rounds()[1]?.query).toBe('An orange fox facing left on a teal background.');
  });

  it('429 then success: retried after Retry-After, the round is normal', async () => {
    const w = await world();
    fake.chat.push(rateLimited(0), { json: refined('An orange fox on teal.') });
    await w.say(KEY, 'teal background', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.query).toBe('An orange fox on teal.');
    expect(round.notes).toEqual([]);
    expect(fake.calls('/v1/chat/completions')).toHaveLength(3); // round 1, then the 429 and its retry
  });

  it('500 until retries are exhausted: the rule refiner takes over and the round says so', async () => {
    const w = await world();
    fake.chat.push(serverError(), serverError());
    await w.say(KEY, 'make it blue', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes).toEqual([
      'The gpt-4o-mini refiner failed (openai: the service failed (HTTP 500), gave up after 2 attempts); used simple rules.',
    ]);
    expect(round.query.length).toBeGreaterThan(0);
    expect(w.sink.rounds()[1]?.notes).toEqual(round.notes);
  });

  it('timeout: a hanging server is retried once, then the rules answer with a note', async () => {
    const w = await world();
    fake.chat.push({ hang: true }, { hang: true });
    await w.say(KEY, 'bigger', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes[0]).toBe(
      'The gpt-4o-mini refiner failed (openai: no answer in time, gave up after 2 attempts); used simple rules.',
    );
  });

  it("timeout of the round's refine budget: the rules answer at once", async () => {
    const refiner = new OpenAIRefiner({
      model: 'gpt-4o-mini',
      baseURL: fake.url,
      gate: testGate('openai', { timeoutMs: 60_000, retries: 2 }),
    });
    const w = await providerWorld({ refiner, refineTimeoutMs: 200 });
    const sink = new RecordingSink();
    fake.chat.push({ hang: true });
    await w.say(KEY, 'a red circle', sink);
    expect(sink.rounds()).toHaveLength(1);
    expect(sink.rounds()[0]?.notes[0]).toMatch(
      /^The gpt-4o-mini refiner failed \(openai: took longer than the round allows/,
    );
    expect(fake.calls('/v1/chat/completions')).toHaveLength(1);
    expect((await w.engine.thread(KEY))?.version).toBe(1);
  });

  it('malformed JSON: retried once, then the rules answer with a note', async () => {
    const w = await world();
    fake.chat.push(
      { body: '{"choices": [', contentType: 'application/json' },
      { json: completion('not json at all') },
    );
    await w.say(KEY, 'on a hill', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes[0]).toMatch(
      /^The gpt-4o-mini refiner failed \(no usable description after 2 tries: openai: unreadable answer \(malformed JSON\); the answer is not JSON\); used simple rules\.$/,
    );
  });

  it('safety refusal: retried once, then the rules answer with a note', async () => {
    const w = await world();
    const refusal = { json: completion(null, { refusal: 'I cannot help with that.' }) };
    fake.chat.push(refusal, refusal);
    await w.say(KEY, 'something edgy', w.sink);
    const round = await expectOneMoreRound(w);
    expect(round.notes[0]).toContain('the model refused');
    expect(fake.calls('/v1/chat/completions')).toHaveLength(3); // round 1, then the refusal and its retry
  });

  it('a start-over intent from the model starts a new search in the same thread', async () => {
    const w = await world();
    fake.chat.push({ json: refined('A blue sailing boat at dusk.', 'restart') });
    await w.say(KEY, 'forget it, a boat', w.sink);
    const state = await w.engine.thread(KEY);
    expect(state?.rounds.map((r) => r.query)).toEqual(['A blue sailing boat at dusk.']);
    expect(w.sink.rounds().at(-1)?.roundNumber).toBe(1);
  });
});
