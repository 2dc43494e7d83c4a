import { describe, expect, it } from 'vitest';
import { sceneDrawingCheck } from '../../adapters/generate/sketch/drawing-check.ts';
import type { FeedbackRouter } from '../../core/ports.ts';
import { HeuristicRouter, NeverRouter } from '../../core/router.ts';
import type { Round } from '../../core/types.ts';
import { engineWorld, FakeGenerator, RecordingSink } from '../support/engine-world.ts';

const KEY = 'test:router';

async function routedWorld(router: FeedbackRouter, options: Parameters<typeof engineWorld>[0] = {}) {
  const w = await engineWorld(options);
  Object.assign(w.deps, { router });
  const rounds = async () => ((await w.engine.thread(KEY))?.rounds ?? []) as Round[];
  return { ...w, rounds };
}

describe('routed rounds', () => {
  it('a text round shows no picture, says why, and searches with the last picture (no text tower)', async () => {
    const w = await routedWorld(new HeuristicRouter({ minChange: 0.6, maxTextRounds: 3 }));
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle at the top on a teal background', sink);
    await w.say(KEY, 'it is large', sink);
    const [first, second] = sink.rounds();
    expect(first?.syntheticPng).not.toBeNull();
    expect(second?.syntheticPng).toBeNull();
    expect(second?.noPicture).toMatch(/No picture this round/);
    expect(second?.notes.join(' ')).toMatch(
      /small change since the last picture.*next picture will show them/,
    );
    expect(w.deps.generator.queries).toHaveLength(1);
    const [r0, r1] = await w.rounds();
    expect(r1?.route).toMatchObject({ decision: 'text', by: 'heuristic' });
    expect(r1?.generated).toBeNull();
    expect(r1?.baseVector).toEqual(r0?.baseVector);
    // Seen-exclusion is on by default: the same vector shows the next matches.
    expect(r1?.matches.map((m) => m.assetId)).not.toEqual(r0?.matches.map((m) => m.assetId));
  });

  it('draws again once the words moved far enough from the last picture', async () => {
    const w = await routedWorld(new HeuristicRouter({ minChange: 0.3, maxTextRounds: 9 }));
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'a blue square in the corner', sink);
    expect((await w.rounds()).map((r) => r.route?.decision)).toEqual(['draw', 'draw']);
    expect(w.deps.generator.queries).toHaveLength(2);
  });

  it('/nodraw answers in words until /draw, which draws the current round at once', async () => {
    const w = await routedWorld(new HeuristicRouter({ minChange: 0, maxTextRounds: 1 }));
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, '/nodraw', sink);
    expect(sink.notices().at(-1)).toMatch(/Pictures off/);
    await w.say(KEY, 'a blue square', sink);
    let rounds = await w.rounds();
    expect(rounds.at(-1)?.route).toMatchObject({ decision: 'text', by: 'person' });
    expect(rounds.at(-1)?.notes.join(' ')).toMatch(
      /you asked for no pictures.*\/draw to turn pictures back on/,
    );
    expect(w.deps.generator.queries).toHaveLength(1);

    await w.say(KEY, '/draw', sink);
    rounds = await w.rounds();
    expect(rounds).toHaveLength(3);
    expect(rounds.at(-1)).toMatchObject({ cause: 'regenerate', route: { decision: 'draw', by: 'person' } });
    expect(rounds.at(-1)?.generated).not.toBeNull();
    expect(sink.rounds().at(-1)?.syntheticPng).not.toBeNull();
    await w.say(KEY, 'it is green', sink);
    expect((await w.rounds()).at(-1)?.route?.decision).toBe('draw');

    await w.say(KEY, '/draw auto', sink);
    expect((await w.engine.thread(KEY))?.drawing).toBeUndefined();
  });

  it('/draw on a round that already has a picture only turns pictures on', async () => {
    const w = await routedWorld(new NeverRouter());
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, '/draw', sink);
    expect(sink.notices().at(-1)).toMatch(/Pictures on/);
    expect(await w.rounds()).toHaveLength(1);
    await w.say(KEY, 'it is blue', sink);
    expect((await w.rounds()).at(-1)?.route?.decision).toBe('draw');
  });

  it('never-router still draws the first round: there is nothing else to search with', async () => {
    const w = await routedWorld(new NeverRouter());
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    expect((await w.rounds()).map((r) => r.route?.decision)).toEqual(['draw', 'text']);
  });
});

/** Always draws the same picture, whatever the query and seed (a saturated generator). */
class StuckGenerator extends FakeGenerator {
  stuckCalls = Number.POSITIVE_INFINITY;
  override async generate(query: string, o: { seed: number; signal: AbortSignal }) {
    const stuck = this.queries.length > 0 && this.queries.length <= this.stuckCalls;
    const out = await super.generate(stuck ? (this.queries[0] as string) : query, o);
    if (stuck) this.queries[this.queries.length - 1] = query;
    return { ...out, seed: o.seed };
  }
}

describe('guards', () => {
  it('stagnation: a picture that did not change is drawn once more, then the person is told', async () => {
    const w = await engineWorld({ stagnationCosine: 0.99 });
    const gen = new StuckGenerator();
    // Same seed for the stuck drawing as the first: the encoder sees the very same picture.
    gen.generate = (
      (orig) => (q: string, o: { seed: number; signal: AbortSignal }) =>
        orig(q, { ...o, seed: 7 })
    )(gen.generate.bind(gen));
    Object.assign(w.deps, { generator: gen });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    expect(gen.queries).toHaveLength(3);
    const last = (await w.engine.thread(KEY))?.rounds.at(-1);
    expect(last?.generated?.calls).toBe(2);
    expect(last?.notes.join(' ')).toMatch(/did not show in the picture \(I drew it twice\)/);
  });

  it('stagnation: when the second drawing changed, nothing is said', async () => {
    const w = await engineWorld({ stagnationCosine: 0.99 });
    const gen = new StuckGenerator();
    gen.stuckCalls = 1;
    gen.generate = (
      (orig) => (q: string, o: { seed: number; signal: AbortSignal }) =>
        orig(q, { ...o, seed: gen.queries.length <= 1 ? 7 : o.seed })
    )(gen.generate.bind(gen));
    Object.assign(w.deps, { generator: gen });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    const last = (await w.engine.thread(KEY))?.rounds.at(-1);
    expect(last?.generated?.calls).toBe(2);
    expect(last?.notes.join(' ')).not.toMatch(/did not show/);
  });

  it('stagnation off (cosine 1): one call per round', async () => {
    const w = await engineWorld();
    const gen = new StuckGenerator();
    Object.assign(w.deps, { generator: gen });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    expect(gen.queries).toHaveLength(2);
  });

  it('hallucination: objects drawn that were never asked for are named in the round', async () => {
    const w = await engineWorld();
    const gen = new FakeGenerator();
    const plain = gen.generate.bind(gen);
    gen.generate = async (q, o) => ({
      ...(await plain(q, o)),
      interpretation: `${q} and a small yellow ring in the center`,
    });
    Object.assign(w.deps, { generator: gen, drawingCheck: sceneDrawingCheck });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle on a teal background', sink);
    expect(sink.rounds()[0]?.notes).toContain(
      'I also drew a yellow ring that you did not mention; say so if it is not in your image.',
    );
    expect(sceneDrawingCheck.unasked('a red circle', 'a red circle in the center')).toEqual([]);
  });

  it('/status tells admins the thread’s generator calls, rounds in words and cost', async () => {
    const w = await routedWorld(new NeverRouter(), {
      isAdmin: (u) => u === 'test:u1',
      admin: { status: async () => 'Gallery ok.', export: async () => '' },
    });
    const sink = new RecordingSink();
    await w.say(KEY, 'a red circle', sink);
    await w.say(KEY, 'it is blue', sink);
    await w.say(KEY, '/status', sink);
    expect(sink.notices().at(-1)).toMatch(
      /^Gallery ok\.\nThis thread: 2 rounds, 1 generator calls, 1 rounds in words; generation .* s in all, .* s per call; cost unknown/,
    );
  });
});
