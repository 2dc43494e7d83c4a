import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleRefiner } from '../../adapters/refine/rules/index.ts';
import {
  captionScene,
  completeScene,
  parseScene,
  type Scene,
  sampleScene,
} from '../../adapters/scene/index.ts';
import { createRng } from '../../core/random.ts';
import { plainScene, sceneDiffs } from '../../scripts/eval/scene-diff.ts';
import {
  BlindUser,
  type BotTurn,
  NOTHING_TO_ADD,
  SceneUser,
  type SimulatedUser,
  vagueDescription,
} from '../../scripts/eval/users.ts';
import { parseVlmAnswer, VlmClient, VlmUser } from '../../scripts/eval/vlm-user.ts';
import { type FakeVisionServer, startFakeVisionServer, userParts } from '../fakes/openai-vision/server.ts';

const TARGET: Scene = {
  background: 'teal',
  objects: [
    { shape: 'star', colour: 'red', size: 'large', position: 'top-left', count: 1 },
    { shape: 'ring', colour: 'blue', size: 'small', position: 'bottom-right', count: 2 },
  ],
};

/** What the bot shows after drawing `caption` (the sketch generator's interpretation). */
function turnFor(caption: string, round = 0, tiles: string[] = []): BotTurn {
  return {
    round,
    query: caption,
    interpretation: captionScene(completeScene(parseScene(caption))),
    syntheticPng: null,
    tiles: tiles.map((assetId, i) => ({ n: i + 1, assetId })),
  };
}

/** The user and the rule refiner talk until the drawing is the target (or `max` rounds pass). */
async function converse(user: SimulatedUser, target: Scene, max = 16) {
  const refiner = new RuleRefiner();
  const history: { userText: string; query: string }[] = [];
  const messages: string[] = [];
  let message = await user.describe();
  let query = '';
  for (let t = 0; t <= max; t++) {
    messages.push(message);
    if (message !== NOTHING_TO_ADD) {
      const input = { message, history: history as never[], ...(query ? { previous: query } : {}) };
      query = (await refiner.refine(input)).query;
    }
    history.push({ userText: message, query });
    if (sceneDiffs(plainScene(target), plainScene(completeScene(parseScene(query)))).length === 0) {
      return { rounds: t, messages, query };
    }
    message = await user.respond(turnFor(query, t));
  }
  return { rounds: Number.POSITIVE_INFINITY, messages, query };
}

describe('the scene-world user', () => {
  it('starts vague: the main object and the most salient of background and colour', async () => {
    expect(vagueDescription(TARGET).text).toBe('a star on a teal background');
    const white: Scene = { ...TARGET, background: 'white' };
    expect(vagueDescription(white).text).toBe('a red star');
    // The main object is the largest one, not the first.
    const small: Scene = { ...white, objects: [...TARGET.objects].reverse() };
    expect(await new SceneUser(small, { seed: 1 }).describe()).toBe('a red star');
  });

  it('states the single most salient difference between the target and the drawing', async () => {
    const user = new SceneUser(TARGET, { seed: 3 });
    // Drawn: a gray medium star in the centre on teal. The star's colour (a large area) and
    // position come before its size and the small missing rings.
    const turn = turnFor('a star on a teal background');
    const diffs = user.differences(turn).map((d) => d.kind);
    expect(diffs.slice(0, 2).sort()).toEqual(['colour', 'position']);
    expect(diffs).toEqual(expect.arrayContaining(['size', 'missing']));
    const top = user.differences(turn)[0];
    const message = await user.respond(turn);
    expect(top?.phrasings).toContain(message);
    expect(message).toMatch(/star/);
    // Said to the bot, it fixes exactly that difference.
    const { query } = await new RuleRefiner().refine({
      previous: 'a star on a teal background',
      message,
      history: [],
    });
    const after = sceneDiffs(plainScene(TARGET), completeScene(parseScene(query)));
    expect(after.map((d) => d.key)).not.toContain(top?.key);
    expect(after).toHaveLength(diffs.length - 1);
  });

  it('names a missing object with its attributes and a wrong background first', async () => {
    const user = new SceneUser(TARGET, { seed: 1 });
    const wrongBackground = await user.respond(
      turnFor('a large red star at the top left on a white background'),
    );
    expect(wrongBackground).toMatch(/background.*teal/);
    const missing = await user.respond(turnFor('a large red star at the top left on a teal background'));
    expect(missing).toMatch(/two small blue rings at the bottom right/);
    expect(await user.respond(turnFor(captionScene(TARGET)))).toBe(NOTHING_TO_ADD);
  });

  it('is deterministic for a seed; the seed only varies the wording', async () => {
    const run = async (seed: number) => (await converse(new SceneUser(TARGET, { seed }), TARGET)).messages;
    expect(await run(5)).toEqual(await run(5));
    const seeds = await Promise.all([1, 2, 3, 4, 5, 6].map(run));
    expect(new Set(seeds.map((m) => m.join('|'))).size).toBeGreaterThan(1);
    for (const messages of seeds) expect(messages.length).toBe(seeds[0]?.length);
  });

  it('rephrases a correction the bot did not take, then moves on', async () => {
    const user = new SceneUser(TARGET, { seed: 2 });
    const stuck = turnFor('a star on a teal background');
    const said = [];
    for (let i = 0; i < 4; i++) said.push(await user.respond(stuck));
    // Three ways of saying the top difference, then the next difference.
    expect(new Set(said.slice(0, 3)).size).toBe(3);
    const first = user.differences(stuck)[0];
    expect(first?.phrasings.slice().sort()).toEqual(said.slice(0, 3).sort());
    expect(first?.phrasings).not.toContain(said[3]);
  });

  it('leads the rule refiner to the exact target scene for random scenes', async () => {
    const rng = createRng(11);
    const rounds: number[] = [];
    for (let i = 0; i < 120; i++) {
      const target = sampleScene(rng);
      const { rounds: n } = await converse(new SceneUser(target, { seed: i }), target);
      rounds.push(n);
    }
    expect(Math.max(...rounds)).toBeLessThanOrEqual(8);
  });

  it('relevance feedback: points at a shown match that is closer than the drawing, once', async () => {
    const scenes = new Map<string, Scene>([
      ['near', { ...TARGET, objects: [TARGET.objects[0] as Scene['objects'][number]] }],
      [
        'far',
        {
          background: 'white',
          objects: [{ shape: 'heart', colour: 'green', size: 'small', position: 'top', count: 1 }],
        },
      ],
    ]);
    const user = new SceneUser(TARGET, { seed: 1, sceneOf: (id) => scenes.get(id) });
    const turn = turnFor('a star on a teal background', 0, ['far', 'near']);
    expect(await user.closerMatch(turn)).toBe(2);
    // Already liked; and nothing else is closer.
    expect(await user.closerMatch(turn)).toBeNull();
    const exact = turnFor(captionScene(TARGET), 1, ['near']);
    expect(
      await new SceneUser(TARGET, { seed: 1, sceneOf: (id) => scenes.get(id) }).closerMatch(exact),
    ).toBeNull();
  });
});

describe('the blind user', () => {
  it('adds one unsaid attribute per round, objects before their attributes, never looking', async () => {
    const user = new BlindUser(TARGET, { seed: 4 });
    expect(await user.describe()).toBe('a star on a teal background');
    const garbage = turnFor('a purple heart');
    const said: string[] = [];
    for (let i = 0; i < 12; i++)
      said.push(await user.respond(i % 2 ? garbage : turnFor(captionScene(TARGET))));
    // star: colour, size, position, count; ring: intro + 4 attributes = 9 things, then nothing more.
    expect(said.slice(9)).toEqual([NOTHING_TO_ADD, NOTHING_TO_ADD, NOTHING_TO_ADD]);
    expect(new Set(said.slice(0, 9)).size).toBe(9);
    expect(said).not.toContain('the background is teal');
    const intro = said.indexOf('there is also a ring');
    expect(intro).toBeGreaterThanOrEqual(0);
    for (const s of said.slice(0, 9))
      if (/\bring/.test(s) && s !== 'there is also a ring') expect(said.indexOf(s)).toBeGreaterThan(intro);
  });

  it('says things in a seeded random order and also reaches the target', async () => {
    const orders = await Promise.all(
      [1, 2, 3].map(async (seed) =>
        (await converse(new BlindUser(TARGET, { seed }), TARGET)).messages.join('|'),
      ),
    );
    expect(new Set(orders).size).toBeGreaterThan(1);
    expect((await converse(new BlindUser(TARGET, { seed: 1 }), TARGET)).messages.join('|')).toBe(orders[0]);
    const { rounds } = await converse(new BlindUser(TARGET, { seed: 1 }), TARGET);
    expect(rounds).toBeLessThanOrEqual(9);
  });
});

describe('the VLM user against a fake OpenAI-compatible server', () => {
  let server: FakeVisionServer;
  let png: Buffer;
  let synthetic: Buffer;
  const answers: string[] = [];

  beforeAll(async () => {
    server = await startFakeVisionServer((request) => {
      const { texts } = userParts(request);
      if (texts.some((t) => t.startsWith('Describe this image')))
        return 'A large red star on a teal background.';
      return answers.shift() ?? '{"difference": "the star is red", "description": "a red star on teal"}';
    });
    png = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#0d9488' } })
      .png()
      .toBuffer();
    synthetic = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
  });
  afterAll(() => server.close());

  it('captions the target, then compares target and synthetic and rewrites the caption', async () => {
    const client = new VlmClient({ baseURL: server.url, model: 'gemma3:4b', apiKey: 'test' });
    const user = new VlmUser(client, png);
    expect(await user.describe()).toBe('A large red star on a teal background.');
    answers.push(
      'Sure!\n```json\n{"difference": "the background is teal, not white", "description": "a red star on a teal background"}\n```',
    );
    const message = await user.respond({ ...turnFor('a red star'), syntheticPng: synthetic });
    expect(message).toBe('the background is teal, not white');
    expect(user.description).toBe('a red star on a teal background');

    const [caption, compare] = server.requests.slice(-2);
    for (const r of [caption, compare]) {
      expect(r?.model).toBe('gemma3:4b');
      expect(r?.temperature).toBe(0.7);
      expect(r?.top_p).toBe(0.9);
      expect(r?.max_tokens).toBe(500);
    }
    expect(userParts(caption as never).images).toHaveLength(1);
    const parts = userParts(compare as never);
    expect(parts.images).toHaveLength(2);
    expect(parts.images.every((u) => u.startsWith('data:image/png;base64,'))).toBe(true);
    expect(parts.texts.join(' ')).toContain('"A large red star on a teal background."');
    // The target was scaled down to at most 512 px before sending.
    const sent = await sharp(
      Buffer.from((parts.images[0] as string).split(',')[1] as string, 'base64'),
    ).metadata();
    expect(Math.max(sent.width ?? 0, sent.height ?? 0)).toBe(512);
  });

  it('keeps comparing with the last picture on rounds that drew nothing, and copes with prose answers', async () => {
    const client = new VlmClient({ baseURL: server.url, model: 'm', message: 'caption' });
    const user = new VlmUser(client, png);
    await user.describe();
    answers.push('{"difference": "teal background", "description": "a red star, teal background"}');
    expect(await user.respond({ ...turnFor('x'), syntheticPng: synthetic })).toBe(
      'a red star, teal background',
    );
    answers.push('The star should be larger.');
    const before = server.requests.length;
    expect(await user.respond({ ...turnFor('x'), syntheticPng: null })).toBe('The star should be larger.');
    expect(userParts(server.requests[before] as never).images).toHaveLength(2);
    expect(user.description).toBe('a red star, teal background');
  });

  it('the blind variant never sends the synthetic image', async () => {
    const user = new VlmUser(new VlmClient({ baseURL: server.url, model: 'm' }), png, { blind: true });
    await user.describe();
    answers.push('{"difference": "there is also a small blue ring", "description": "a red star and a ring"}');
    expect(await user.respond({ ...turnFor('x'), syntheticPng: synthetic })).toBe(
      'there is also a small blue ring',
    );
    const last = server.requests.at(-1) as never;
    expect(userParts(last).images).toHaveLength(1);
    expect(userParts(last).texts.join(' ')).toContain('one more detail');
  });

  it('retries a failing server (5xx) through the openai client', async () => {
    const client = new VlmClient({ baseURL: server.url, model: 'm', maxRetries: 2 });
    server.failNext(503);
    expect(await new VlmUser(client, png).describe()).toBe('A large red star on a teal background.');
  });

  it('parses JSON answers leniently', () => {
    expect(parseVlmAnswer('{"difference": "a", "description": "b"}')).toEqual({
      difference: 'a',
      description: 'b',
    });
    expect(parseVlmAnswer('no json here')).toBeNull();
    expect(parseVlmAnswer('{"difference": ""}')).toBeNull();
  });
});
