import { describe, expect, it } from 'vitest';
import {
  COLOUR_RGB,
  COLOURS,
  colourOf,
  countOf,
  SHAPES,
  shapeOf,
  sizeOf,
} from '../../../adapters/scene/index.ts';

describe('scene vocabulary', () => {
  it('has at least 12 colours and 8 shapes, each colour with an RGB value', () => {
    expect(COLOURS.length).toBeGreaterThanOrEqual(12);
    expect(SHAPES.length).toBeGreaterThanOrEqual(8);
    for (const c of COLOURS) expect(COLOUR_RGB[c]).toHaveLength(3);
  });

  it('maps synonyms to canonical values', () => {
    expect(['grey', 'violet', 'cyan', 'navy', 'crimson'].map(colourOf)).toEqual([
      'gray',
      'purple',
      'teal',
      'blue',
      'red',
    ]);
    expect(['tiny', 'big', 'huge', 'normal'].map(sizeOf)).toEqual(['small', 'large', 'large', 'medium']);
    expect(colourOf('fox')).toBeUndefined();
  });

  it('reads shape plurals, synonyms and one-letter typos in long names', () => {
    expect(shapeOf('circles')).toEqual({ shape: 'circle', plural: true });
    expect(shapeOf('crosses')).toEqual({ shape: 'cross', plural: true });
    expect(shapeOf('boxes')).toEqual({ shape: 'square', plural: true });
    expect(shapeOf('dot')).toEqual({ shape: 'circle', plural: false });
    expect(shapeOf('cirlce')).toEqual({ shape: 'circle', plural: false });
    expect(shapeOf('traingles')).toEqual({ shape: 'triangle', plural: true });
    expect(shapeOf('heard')).toBeUndefined();
    expect(shapeOf('stare')).toBeUndefined();
  });

  it('clamps counts to three', () => {
    expect(['one', 'two', 'pair', 'three', 'seven', '12', '0'].map(countOf)).toEqual([
      1,
      2,
      2,
      3,
      3,
      3,
      undefined,
    ]);
  });
});
