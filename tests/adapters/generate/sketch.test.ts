import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SketchGenerator } from '../../../adapters/generate/sketch/index.ts';

const live = () => new AbortController().signal;

describe('SketchGenerator', () => {
  const generator = new SketchGenerator();

  it('draws the query and says what it drew', async () => {
    const out = await generator.generate('two small blue stars in the bottom right, on teal', {
      seed: 3,
      signal: live(),
    });
    expect(generator.id).toBe('sketch');
    expect(out.seed).toBe(3);
    expect(out.interpretation).toBe('two small blue stars at the bottom right on a teal background');
    const meta = await sharp(out.png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 256, height: 256 });
  });

  it('draws the same scene differently for another seed, identically for the same seed', async () => {
    const a = await generator.generate('a red heart', { seed: 1, signal: live() });
    const b = await generator.generate('a red heart', { seed: 2, signal: live() });
    const again = await generator.generate('a red heart', { seed: 1, signal: live() });
    expect(b.interpretation).toBe(a.interpretation);
    expect(b.png.equals(a.png)).toBe(false);
    expect(again.png.equals(a.png)).toBe(true);
  });

  it('draws the default scene for an empty or unreadable query', async () => {
    for (const query of ['', 'the banner we used last spring']) {
      const out = await generator.generate(query, { seed: 0, signal: live() });
      expect(out.interpretation).toBe('a medium gray circle in the center on a white background');
      expect((await sharp(out.png).metadata()).format).toBe('png');
    }
  });

  it('honours the configured size', async () => {
    const out = await new SketchGenerator({ size: 128 }).generate('a star', { seed: 0, signal: live() });
    expect((await sharp(out.png).metadata()).width).toBe(128);
  });

  it('throws the abort reason when the signal is aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('round cancelled');
    controller.abort(reason);
    await expect(generator.generate('a star', { seed: 0, signal: controller.signal })).rejects.toBe(reason);
  });

  it('throws the abort reason when aborted while drawing', async () => {
    const controller = new AbortController();
    const pending = generator.generate('a star', { seed: 0, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
