/** The perceiving user: what it says given a picture, a text or matches, and how it paraphrases. */
import { describe, expect, it } from 'vitest';
import { renderScene, type Scene } from '../../../adapters/scene/index.ts';
import { perceive } from '../../../scripts/eval/perception.ts';
import { descriptionsUnderstood } from '../../../scripts/eval/perception-accuracy.ts';
import { DRAW_AGAIN, PerceivingUser } from '../../../scripts/eval/pixel-user.ts';
import { readQuery } from '../../../scripts/eval/text-reader.ts';

const target: Scene = {
  background: 'teal',
  objects: [
    { shape: 'star', colour: 'yellow', size: 'large', position: 'top-left', count: 1 },
    { shape: 'ring', colour: 'red', size: 'medium', position: 'bottom-right', count: 1 },
  ],
};
const png = (scene: Scene) => renderScene(scene, { size: 256 });
const user = async (seed = 1) =>
  PerceivingUser.fromPng(await png(target), { seed, perceive, readText: readQuery });

describe('PerceivingUser', () => {
  it('describes everything it sees in the target at round 0', async () => {
    const text = (await user()).describe();
    for (const word of ['star', 'yellow', 'ring', 'red', 'teal']) expect(text).toContain(word);
  });

  it('has nothing to correct in a drawing of the target itself', async () => {
    expect(await (await user()).respond({ kind: 'image', png: await png(target) })).toBe(DRAW_AGAIN);
  });

  it('states the most salient difference it sees in the drawing', async () => {
    const drawn: Scene = { ...target, background: 'white' };
    expect(await (await user()).respond({ kind: 'image', png: await png(drawn) })).toMatch(/teal/);
    const recoloured: Scene = {
      ...target,
      objects: [
        { ...(target.objects[0] as Scene['objects'][0]), colour: 'blue' },
        target.objects[1] as Scene['objects'][0],
      ],
    };
    const said = await (await user()).respond({ kind: 'image', png: await png(recoloured) });
    expect(said).toMatch(/star/);
    expect(said).toMatch(/yellow/);
  });

  it('reads a text for what it says, and adds what it leaves out', async () => {
    const said = await (await user()).respond({
      kind: 'text',
      text: 'a large yellow star at the top left and a medium red ring at the bottom right',
    });
    expect(said).toMatch(/teal/);
  });

  it('compares the target with the closest of the shown matches', async () => {
    const far: Scene = {
      background: 'white',
      objects: [{ shape: 'cross', colour: 'black', size: 'small', position: 'center', count: 3 }],
    };
    const close: Scene = { ...target, objects: [target.objects[0] as Scene['objects'][0]] };
    const said = await (await user()).respond({ kind: 'matches', pngs: [await png(far), await png(close)] });
    // The closest match lacks only the ring.
    expect(said).toMatch(/ring/);
  });

  it('likes a shown match that is closer than the drawing, once', async () => {
    const u = await user();
    const drawing = await png({ background: 'white', objects: [] as Scene['objects'] });
    const tiles = [await png({ ...target, background: 'gray' }), await png(target)];
    expect(await u.closerMatch(drawing, tiles)).toBe(2);
    expect(await u.closerMatch(drawing, tiles)).toBe(1);
  });

  it('repeats a correction the bot ignores in other words, then gives up on it', async () => {
    const u = await user();
    const drawn = await png({ ...target, background: 'white' });
    const said = [];
    for (let i = 0; i < 4; i++) said.push(await u.respond({ kind: 'image', png: drawn }));
    expect(new Set(said.slice(0, 3)).size).toBe(3);
    for (const s of said.slice(0, 3)) expect(s).toMatch(/teal/);
    expect(said[3]).not.toMatch(/teal/);
  });
});

describe('paraphrased descriptions', () => {
  it('the rule refiner reads some of them back exactly and misreads others', () => {
    const share = descriptionsUnderstood(200, 5);
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
  });
});
