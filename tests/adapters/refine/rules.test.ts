import { describe, expect, it } from 'vitest';
import { RuleRefiner } from '../../../adapters/refine/rules/index.ts';
import {
  captionScene,
  completeScene,
  type Position,
  parseScene,
  type Scene,
  type SceneObject,
  SHAPE_PLURALS,
  SIZES,
  sampleScene,
} from '../../../adapters/scene/index.ts';
import { createRng, pick, type Rng } from '../../../core/random.ts';
import type { Round } from '../../../core/types.ts';

const refiner = new RuleRefiner();

/** Plays a conversation as the engine does (previous query + past rounds); returns every query. */
async function play(messages: string[]): Promise<string[]> {
  const history: Round[] = [];
  for (const message of messages) {
    const previous = history.at(-1)?.query;
    const input = previous === undefined ? { message, history } : { previous, message, history };
    const out = await refiner.refine({ ...input, history: [...history] });
    history.push({ userText: message, query: out.query } as Round);
  }
  return history.map((r) => r.query);
}

/** [first query, correction, expected merged query] */
const corrections: [string, string, string][] = [
  // colour
  ['a red circle', "it's blue", 'a blue circle'],
  ['a red circle', 'its blue', 'a blue circle'],
  ['a red circle', 'Blue.', 'a blue circle'],
  ['a red circle', 'no, blue', 'a blue circle'],
  ['a red circle', 'the circle is blue, not red', 'a blue circle'],
  ['a red circle', 'not red, more like purple', 'a purple circle'],
  ['a red circle', 'it was grey I think', 'a gray circle'],
  ['a red circle', 'not red', 'a circle'],
  ['a red circle', "I don't think it was red", 'a circle'],
  ['a red circle and a blue star', 'the star is yellow', 'a red circle and a yellow star'],
  ['a red circle and a blue star', 'make the red one green', 'a green circle and a blue star'],
  ['a red circle and a blue star', 'the blue one is actually pink', 'a red circle and a pink star'],
  ['a red circle and a blue star', 'make everything green', 'a green circle and a green star'],
  ['a red circle and a blue circle', 'the blue circle is teal', 'a red circle and a teal circle'],
  // size
  ['a red circle', 'bigger', 'a large red circle'],
  ['a red circle', 'make it bigger', 'a large red circle'],
  ['a small red circle', 'a bit bigger', 'a medium red circle'],
  ['a small red circle', 'much bigger', 'a large red circle'],
  ['a large red circle', "it's too big", 'a medium red circle'],
  ['a red circle', 'smaller please', 'a small red circle'],
  ['a red circle', 'tiny', 'a small red circle'],
  ['a red circle and a blue star', 'the star should be huge', 'a red circle and a large blue star'],
  ['a red circle and a blue star', 'the circle is smaller', 'a small red circle and a blue star'],
  // position
  ['a red circle', 'move it to the left', 'a red circle on the left'],
  ['a red circle at the top right', 'move it to the left', 'a red circle at the top left'],
  ['a red circle at the top right', "it's on the left", 'a red circle on the left'],
  ['a red circle at the top', 'move it down', 'a red circle in the center'],
  ['a red circle', 'higher', 'a red circle at the top'],
  ['a red circle on the right', 'a bit more to the left', 'a red circle in the center'],
  ['a red circle', 'in the top left corner', 'a red circle at the top left'],
  ['a red circle', 'lower right', 'a red circle at the bottom right'],
  [
    'a red circle and a blue star',
    'the star is in the upper left',
    'a red circle and a blue star at the top left',
  ],
  [
    'a red circle and a blue star',
    'put the circle at the bottom',
    'a red circle at the bottom and a blue star',
  ],
  ['a red circle', "that's right, but it's in the middle", 'a red circle in the center'],
  ['a red circle on the left', 'not on the left', 'a red circle'],
  ['a red circle', 'it was in the right corner at the top', 'a red circle at the top right'],
  // "the one on the left" is the one drawn on the left, even if nobody said where it was
  ['a red circle and a blue star', 'the one on the left is green', 'a green circle and a blue star'],
  ['a red circle and a blue star', 'move the star up', 'a red circle and a blue star at the top right'],
  // background
  ['a red circle', 'the background is teal', 'a red circle on a teal background'],
  ['a red circle', 'teal background', 'a red circle on a teal background'],
  ['a red circle', 'on black', 'a red circle on a black background'],
  [
    'a red circle on a white background',
    "the background isn't white, it's yellow",
    'a red circle on a yellow background',
  ],
  [
    'a red circle on a white background',
    'background should be light grey',
    'a red circle on a gray background',
  ],
  [
    'a red circle',
    'the background is blue and the circle is orange',
    'an orange circle on a blue background',
  ],
  // count
  ['a red star', 'two of them', 'two red stars'],
  ['a red star', 'there are three', 'three red stars'],
  ['two red stars', 'just one', 'a red star'],
  ['a red star', 'a pair of them', 'two red stars'],
  ['a red star', 'there is another star', 'two red stars'],
  ['a red circle and a star', 'three stars', 'a red circle and three stars'],
  ['a red circle', 'there were two circles', 'two red circles'],
  ['a red circle', 'another one', 'two red circles'],
  // adding
  [
    'a red circle',
    'there is also a small green triangle at the top left',
    'a red circle and a small green triangle at the top left',
  ],
  ['a red circle', 'also a blue star', 'a red circle and a blue star'],
  ['a red circle', 'and a yellow heart at the bottom', 'a red circle and a yellow heart at the bottom'],
  ['a red circle', 'add two pink rings', 'a red circle and two pink rings'],
  ['a red circle', "there's a star next to it", 'a red circle and a star'],
  ['a red circle', 'a blue star at the bottom too', 'a red circle and a blue star at the bottom'],
  ['a red circle', 'another red circle, but bigger', 'a red circle and a large red circle'],
  ['a red circle', 'another one', 'two red circles'],
  ['a red circle', 'one more circle', 'two red circles'],
  ['a red circle', 'also something green on the right', 'a red circle and a green shape on the right'],
  ['a red circle', 'and a blue one', 'a red circle and a blue circle'],
  // removing
  ['a red circle and a green triangle', 'no triangle', 'a red circle'],
  ['a red circle and a green triangle', 'remove the triangle', 'a red circle'],
  ['a red circle and a green triangle', "there's no triangle", 'a red circle'],
  ['a red circle and a green triangle', 'get rid of the green one', 'a red circle'],
  ['a red circle and a green triangle', 'delete it', 'a red circle'],
  ['a red circle and a green triangle', 'without the circle', 'a green triangle'],
  ['a red circle and a green triangle', 'no more triangles please', 'a red circle'],
  ['a red circle, a blue star and a green triangle', 'only the star', 'a blue star'],
  ['a red circle, a blue star and a green triangle', 'remove everything except the star', 'a blue star'],
  // changing the shape
  ['a red star', 'not a star, a heart', 'a red heart'],
  ['a red star', "it's a heart, not a star", 'a red heart'],
  ['a red star', 'actually a square', 'a red square'],
  ['a red star', 'square', 'a red square'],
  ['a red star', 'it should be a hexagon', 'a red hexagon'],
  ['a red star', 'make it a diamond', 'a red diamond'],
  ['a red circle and a blue star', 'the star should be a heart', 'a red circle and a blue heart'],
  ['a red circle and a blue star', 'replace the circle with a ring', 'a red ring and a blue star'],
  ['a red circle and a blue star', 'change the circle into a square', 'a red square and a blue star'],
  ['a red circle and a blue star', 'a heart instead of the star', 'a red circle and a blue heart'],
  ['a red circle and a blue star', 'actually a cross', 'a red circle and a blue cross'],
  [
    'a red circle and a blue star',
    'the circle is a pentagon, not a circle',
    'a red pentagon and a blue star',
  ],
  ['a red star', "it's not a star", 'a red shape'],
  ['something red at the top', "it's a triangle", 'a red triangle at the top'],
  // several things at once
  [
    'a red circle',
    "it's big and blue, at the top, on a yellow background",
    'a large blue circle at the top on a yellow background',
  ],
  ['a red circle', 'bigger, and move it to the right', 'a large red circle on the right'],
  [
    'a red circle and a blue star',
    'the circle is green and the star is small',
    'a green circle and a small blue star',
  ],
  // typos and noise
  ['a red circle', 'its a sqaure actualy', 'a red square'],
  ['a red circle', 'hmm, closer! the colour is more like crimson', 'a red circle'],
  ['a red circle', 'yes', 'a red circle'],
  ['a red circle', '', 'a red circle'],
  ['a red circle', 'the fox is facing left', 'a red circle on the left'],
];

describe('RuleRefiner: one correction', () => {
  it.each(corrections)('%s + "%s" → %s', async (first, message, expected) => {
    expect((await play([first, message])).at(-1)).toBe(expected);
  });
});

describe('RuleRefiner: conversations', () => {
  it('steers a sketch step by step', async () => {
    expect(
      await play([
        'I remember a big red circle at the top left',
        "it's blue",
        'make it bigger',
        'no wait, smaller than that',
        'the background is teal',
        'there is also a small green triangle at the top right',
        'two of them',
        'no triangles',
      ]),
    ).toEqual([
      'a large red circle at the top left',
      'a large blue circle at the top left',
      'a large blue circle at the top left',
      'a medium blue circle at the top left',
      'a medium blue circle at the top left on a teal background',
      'a medium blue circle at the top left and a small green triangle at the top right on a teal background',
      'a medium blue circle at the top left and two small green triangles at the top right on a teal background',
      'a medium blue circle at the top left on a teal background',
    ]);
  });

  it('keeps track of which object "it" is', async () => {
    expect(
      await play([
        'a yellow star',
        'also a circle on the left',
        "it's purple",
        'the star is at the bottom',
        'make it smaller',
      ]),
    ).toEqual([
      'a yellow star',
      'a yellow star and a circle on the left',
      'a yellow star and a purple circle on the left',
      'a yellow star at the bottom and a purple circle on the left',
      'a small yellow star at the bottom and a purple circle on the left',
    ]);
  });

  it('without history, "it" is the object mentioned last in the previous query', async () => {
    const out = await refiner.refine({
      previous: 'a yellow star and a circle',
      message: "it's purple",
      history: [],
    });
    expect(out.query).toBe('a yellow star and a purple circle');
  });

  it('starts from what the first message says, dropping words outside the scene world', async () => {
    expect(await play(['the banner with the fox, I think there was a green triangle in the corner'])).toEqual(
      ['a green triangle'],
    );
  });

  it('builds a scene from nothing', async () => {
    expect(await play(['red', 'a star', 'at the bottom', 'on white'])).toEqual([
      'a red shape',
      'a red star',
      'a red star at the bottom',
      'a red star at the bottom on a white background',
    ]);
  });

  it('walks an object across the grid', async () => {
    expect(
      await play([
        'a green heart',
        'move it up',
        'further right',
        'move it down',
        'move it down',
        'a bit more to the left',
      ]),
    ).toEqual([
      'a green heart',
      'a green heart at the top',
      'a green heart at the top right',
      'a green heart on the right',
      'a green heart at the bottom right',
      'a green heart at the bottom',
    ]);
  });
});

describe('RuleRefiner: limits and intents', () => {
  it('keeps at most three groups, dropping the oldest with a note', async () => {
    const out = await refiner.refine({
      previous: 'a red circle, a blue star and a green heart',
      message: 'plus an orange square',
      history: [],
    });
    expect(out.query).toBe('a blue star, a green heart and an orange square');
    expect(out.note).toContain('a red circle');
    expect(out.intent).toBe('refine');
  });

  it.each([
    ['start over', ''],
    ['Start over: two green crosses', 'two green crosses'],
    ['new search - a pink ring on black', 'a pink ring on a black background'],
    ["forget that, it's a blue star", 'a blue star'],
    ["let's start again with a small heart", 'a small heart'],
    ['ok new search', ''],
  ])('"%s" restarts with "%s"', async (message, query) => {
    const out = await refiner.refine({ previous: 'a red circle on a teal background', message, history: [] });
    expect(out).toEqual({ query, intent: 'restart' });
  });

  it('does not mistake "forget the colour" for a restart', async () => {
    const out = await refiner.refine({
      previous: 'a red circle',
      message: 'forget the colour, it is big',
      history: [],
    });
    expect(out).toEqual({ query: 'a large red circle', intent: 'refine' });
  });

  it('for a generator of any text (freeText), passes words through when neither text describes a scene', async () => {
    const free = new RuleRefiner({ freeText: true });
    const out = await free.refine({ previous: 'the spring banner', message: 'with the fox', history: [] });
    expect(out.query).toBe('the spring banner, with the fox');
    expect(out.understood).toBeUndefined();
  });

  it.each([
    ['x'.repeat(10_000), /^"x{37}…"$/, true],
    ['pick 999', /^"pick 999" \(a command needs its slash: \/pick 999\)$/, true],
    ['https://example.com/banner.png', /^a link$/, true],
    ['```js\nconst fox = 1;\n```', /^a code block$/, true],
    ['```\nSELECT 1\n``` https://x.example', /^a code block and a link$/, true],
    ['a cat asleep on a sofa', /^"a cat asleep on a sofa"$/, false],
  ])(
    'does not understand %j (%s), and says so instead of drawing a default',
    async (message, what, alsoFree) => {
      const out = await refiner.refine({ previous: 'a red circle', message, history: [] });
      expect(out).toMatchObject({ understood: false, query: 'a red circle' });
      expect(out.unrecognised).toMatch(what);
      expect(out.examples?.length).toBeGreaterThan(0);
      const free = await new RuleRefiner({ freeText: true }).refine({ message, history: [] });
      expect(free.understood === false).toBe(alsoFree);
    },
  );

  it('understands a description next to a link, and "start over" alone', async () => {
    const out = await refiner.refine({ message: 'a red star, like https://x.example/a.png', history: [] });
    expect(out).toEqual({ query: 'a red star', intent: 'refine' });
    expect(await refiner.refine({ message: 'start over', history: [] })).toEqual({
      query: '',
      intent: 'restart',
    });
  });

  it('throws the abort reason when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(refiner.refine({ message: 'a star', history: [] }, controller.signal)).rejects.toThrow(
      'stop',
    );
  });
});

describe('RuleRefiner: a simulated person steering the sketch', () => {
  const where: Record<Position, string> = {
    'top-left': 'at the top left',
    top: 'at the top',
    'top-right': 'in the upper right corner',
    left: 'on the left',
    center: 'in the middle',
    right: 'on the right side',
    'bottom-left': 'bottom left',
    bottom: 'at the bottom',
    'bottom-right': 'in the bottom right',
  };

  const numbers = { 1: 'one', 2: 'two', 3: 'three' } as const;

  /** The first thing that differs between what is drawn and what the person remembers, said one of a few ways. */
  function correction(rng: Rng, drawn: Scene, target: Scene): string | undefined {
    if (drawn.background !== target.background) {
      return pick(rng, [`the background is ${target.background}`, `${target.background} background`]);
    }
    const wrong = drawn.objects.find((o) => !target.objects.some((t) => t.shape === o.shape));
    if (wrong)
      return pick(rng, [
        `there's no ${wrong.shape}`,
        `remove the ${wrong.shape}`,
        `no ${SHAPE_PLURALS[wrong.shape]}`,
      ]);
    for (const t of target.objects) {
      const o = drawn.objects.find((d) => d.shape === t.shape);
      const s = t.shape;
      if (!o)
        return pick(rng, [
          `there is also ${captionScene({ objects: [t] })}`,
          `add ${captionScene({ objects: [t] })}`,
        ]);
      if (o.colour !== t.colour) {
        return pick(rng, [
          `the ${s} is ${t.colour}`,
          `make the ${s} ${t.colour}`,
          `the ${s} should be ${t.colour}, not ${o.colour}`,
        ]);
      }
      if (o.size !== t.size) {
        const relative = SIZES.indexOf(t.size) > SIZES.indexOf(o.size) ? 'bigger' : 'smaller';
        return pick(rng, [
          `the ${s} should be ${t.size === 'large' ? 'big' : t.size}`,
          `make the ${s} ${relative}`,
        ]);
      }
      if (o.position !== t.position)
        return pick(rng, [`the ${s} is ${where[t.position]}`, `put the ${s} ${where[t.position]}`]);
      if (o.count !== t.count) {
        return t.count === 1
          ? `just one ${s}`
          : pick(rng, [
              `there are ${numbers[t.count]} ${SHAPE_PLURALS[s]}`,
              `I think ${t.count} ${SHAPE_PLURALS[s]}`,
            ]);
      }
    }
    return undefined;
  }

  /** How many attributes (or whole objects) the drawing still gets wrong. */
  function differences(drawn: Scene, target: Scene): number {
    const keys = ['colour', 'size', 'position', 'count'] as const;
    let n = drawn.background === target.background ? 0 : 1;
    n += drawn.objects.filter((o) => !target.objects.some((t) => t.shape === o.shape)).length;
    for (const t of target.objects) {
      const o = drawn.objects.find((d) => d.shape === t.shape);
      n += o ? keys.filter((k) => o[k] !== t[k]).length : keys.length + 1;
    }
    return n;
  }

  it('reaches 200 sampled target scenes from a vague start, every correction getting closer', async () => {
    const rng = createRng(42);
    for (let i = 0; i < 200; i++) {
      const target = sampleScene(rng);
      const first = target.objects[0] as SceneObject;
      const history: Round[] = [];
      let query = (await refiner.refine({ message: `I think there was a ${first.shape}`, history })).query;
      history.push({ userText: '', query } as Round);
      let message = correction(rng, completeScene(parseScene(query)), target);
      while (message !== undefined) {
        const before = differences(completeScene(parseScene(query)), target);
        query = (await refiner.refine({ previous: query, message, history: [...history] })).query;
        history.push({ userText: message, query } as Round);
        const drawn = completeScene(parseScene(query));
        expect(differences(drawn, target), `${message} → ${query}`).toBeLessThan(before);
        message = correction(rng, drawn, target);
      }
      expect(completeScene(parseScene(query))).toEqual(target);
    }
  });

  it('always answers with a query that reads back to itself', async () => {
    const rng = createRng(8);
    const messages = corrections.map(([, message]) => message);
    for (let i = 0; i < 300; i++) {
      const previous = captionScene(sampleScene(rng));
      const { query } = await refiner.refine({ previous, message: pick(rng, messages), history: [] });
      expect(captionScene(parseScene(query))).toBe(query);
    }
  });
});
