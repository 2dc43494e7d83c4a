import { describe, expect, it } from 'vitest';
import { type PartialScene, parseScene } from '../../../adapters/scene/index.ts';

const cases: [string, PartialScene][] = [
  [
    'a big red circle at the top left on a teal background',
    {
      background: 'teal',
      objects: [{ shape: 'circle', size: 'large', colour: 'red', position: 'top-left' }],
    },
  ],
  [
    'two small blue stars in the bottom right',
    { objects: [{ shape: 'star', count: 2, size: 'small', colour: 'blue', position: 'bottom-right' }] },
  ],
  ['the fox... a green triangle', { objects: [{ shape: 'triangle', colour: 'green' }] }],
  ['background is teal', { background: 'teal', objects: [] }],
  ['blue background', { background: 'blue', objects: [] }],
  ['The background should be a light grey.', { background: 'gray', objects: [] }],
  ['a red circle on white', { background: 'white', objects: [{ shape: 'circle', colour: 'red' }] }],
  [
    'a yellow star against a navy coloured backdrop',
    { background: 'blue', objects: [{ shape: 'star', colour: 'yellow' }] },
  ],
  [
    'A LARGE RED CIRCLE, TOP-LEFT CORNER!',
    { objects: [{ shape: 'circle', size: 'large', colour: 'red', position: 'top-left' }] },
  ],
  [
    'a big circle, red, top left',
    { objects: [{ shape: 'circle', size: 'large', colour: 'red', position: 'top-left' }] },
  ],
  ['red, top left', { objects: [{ colour: 'red', position: 'top-left' }] }],
  ['something purple in the middle', { objects: [{ colour: 'purple', position: 'center' }] }],
  [
    'a mid-size violet hexagon in the middle of the left side',
    { objects: [{ shape: 'hexagon', size: 'medium', colour: 'purple', position: 'left' }] },
  ],
  [
    'three pink rings, upper right',
    { objects: [{ shape: 'ring', count: 3, colour: 'pink', position: 'top-right' }] },
  ],
  [
    'a pair of tiny black dots lower left',
    { objects: [{ shape: 'circle', count: 2, size: 'small', colour: 'black', position: 'bottom-left' }] },
  ],
  ['some hearts', { objects: [{ shape: 'heart', count: 2 }] }],
  [
    'a few cyan boxes at the bottom',
    { objects: [{ shape: 'square', count: 3, colour: 'teal', position: 'bottom' }] },
  ],
  ['5 crosses', { objects: [{ shape: 'cross', count: 3 }] }],
  ['a plus sign on the right hand side', { objects: [{ shape: 'cross', position: 'right' }] }],
  [
    'a huge orange cirlce and a sqaure',
    { objects: [{ shape: 'circle', size: 'large', colour: 'orange' }, { shape: 'square' }] },
  ],
  [
    'a golden rhombus in the centre',
    { objects: [{ shape: 'diamond', colour: 'yellow', position: 'center' }] },
  ],
  ['a donut at the top', { objects: [{ shape: 'ring', position: 'top' }] }],
  [
    'a red circle and a blue circle',
    {
      objects: [
        { shape: 'circle', colour: 'red' },
        { shape: 'circle', colour: 'blue' },
      ],
    },
  ],
  [
    'a red circle next to a blue star',
    {
      objects: [
        { shape: 'circle', colour: 'red' },
        { shape: 'star', colour: 'blue' },
      ],
    },
  ],
  [
    'a red circle top left two blue stars bottom right',
    {
      objects: [
        { shape: 'circle', colour: 'red', position: 'top-left' },
        { shape: 'star', count: 2, colour: 'blue', position: 'bottom-right' },
      ],
    },
  ],
  [
    'A green triangle. The triangle is big and sits at the bottom.',
    { objects: [{ shape: 'triangle', colour: 'green', size: 'large', position: 'bottom' }] },
  ],
  ['a circle. it is red', { objects: [{ shape: 'circle', colour: 'red' }] }],
  ['no star, just a yellow heart', { objects: [{ shape: 'heart', colour: 'yellow' }] }],
  ['a circle that is blue, not red', { objects: [{ shape: 'circle', colour: 'blue' }] }],
  [
    'a white star with a small pink heart at the bottom, on black',
    {
      background: 'black',
      objects: [
        { shape: 'star', colour: 'white' },
        { shape: 'heart', size: 'small', colour: 'pink', position: 'bottom' },
      ],
    },
  ],
  [
    'at the top, a small orange pentagon',
    { objects: [{ shape: 'pentagon', size: 'small', colour: 'orange', position: 'top' }] },
  ],
  ["that's right, a brown star", { objects: [{ shape: 'star', colour: 'brown' }] }],
  ['a star on the right', { objects: [{ shape: 'star', position: 'right' }] }],
  ['a star up top', { objects: [{ shape: 'star', position: 'top' }] }],
  ['a star, in the right corner at the top', { objects: [{ shape: 'star', position: 'top-right' }] }],
  ['the heart sits on the left-hand side', { objects: [{ shape: 'heart', position: 'left' }] }],
  ['the banner with the orange fox we used last spring', { objects: [{ colour: 'orange' }] }],
  ['', { objects: [] }],
  ['hello there!', { objects: [] }],
];

describe('parseScene', () => {
  it.each(cases)('%s', (text, expected) => {
    expect(parseScene(text)).toEqual(expected);
  });

  it('keeps at most three object groups', () => {
    expect(parseScene('a circle, a star, a heart and a square').objects.map((o) => o.shape)).toEqual([
      'circle',
      'star',
      'heart',
    ]);
  });

  it('lets a later statement about the same object win', () => {
    expect(parseScene('a red star. the star is green').objects).toEqual([{ shape: 'star', colour: 'green' }]);
  });
});
