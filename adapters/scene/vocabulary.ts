/** The closed vocabulary of the scene world: canonical values and the words people use for them. */

export type Rgb = readonly [number, number, number];

export const COLOURS = [
  'red',
  'orange',
  'yellow',
  'green',
  'teal',
  'blue',
  'purple',
  'pink',
  'brown',
  'black',
  'white',
  'gray',
] as const;
export type Colour = (typeof COLOURS)[number];

export const COLOUR_RGB: Record<Colour, Rgb> = {
  red: [220, 38, 38],
  orange: [245, 130, 32],
  yellow: [250, 204, 21],
  green: [34, 160, 70],
  teal: [13, 148, 136],
  blue: [37, 99, 235],
  purple: [126, 58, 190],
  pink: [236, 110, 170],
  brown: [133, 84, 45],
  black: [24, 24, 27],
  white: [248, 248, 245],
  gray: [140, 140, 140],
};

const COLOUR_SYNONYMS: Record<string, Colour> = {
  grey: 'gray',
  silver: 'gray',
  charcoal: 'gray',
  crimson: 'red',
  scarlet: 'red',
  maroon: 'red',
  burgundy: 'red',
  cherry: 'red',
  amber: 'orange',
  tangerine: 'orange',
  coral: 'orange',
  peach: 'orange',
  gold: 'yellow',
  golden: 'yellow',
  lemon: 'yellow',
  mustard: 'yellow',
  lime: 'green',
  olive: 'green',
  emerald: 'green',
  mint: 'green',
  cyan: 'teal',
  turquoise: 'teal',
  aqua: 'teal',
  aquamarine: 'teal',
  navy: 'blue',
  azure: 'blue',
  cobalt: 'blue',
  royal: 'blue',
  violet: 'purple',
  lilac: 'purple',
  lavender: 'purple',
  indigo: 'purple',
  plum: 'purple',
  magenta: 'pink',
  fuchsia: 'pink',
  rose: 'pink',
  salmon: 'pink',
  tan: 'brown',
  beige: 'brown',
  chocolate: 'brown',
  ebony: 'black',
  ivory: 'white',
  cream: 'white',
};

export const SHAPES = [
  'circle',
  'square',
  'triangle',
  'star',
  'heart',
  'hexagon',
  'diamond',
  'cross',
  'ring',
  'pentagon',
] as const;
export type Shape = (typeof SHAPES)[number];

const SHAPE_SYNONYMS: Record<string, Shape> = {
  dot: 'circle',
  disc: 'circle',
  disk: 'circle',
  ball: 'circle',
  oval: 'circle',
  sphere: 'circle',
  orb: 'circle',
  box: 'square',
  rectangle: 'square',
  rect: 'square',
  block: 'square',
  cube: 'square',
  pyramid: 'triangle',
  hex: 'hexagon',
  rhombus: 'diamond',
  lozenge: 'diamond',
  donut: 'ring',
  doughnut: 'ring',
  hoop: 'ring',
  torus: 'ring',
};

/** Two-word shape names; a bare "plus" is a conjunction, not a cross. */
const SHAPE_PHRASES: Record<string, Shape> = {
  'plus sign': 'cross',
  'plus signs': 'cross',
  'plus shape': 'cross',
  'plus shapes': 'cross',
  'plus symbol': 'cross',
  'plus symbols': 'cross',
};

export const SIZES = ['small', 'medium', 'large'] as const;
export type Size = (typeof SIZES)[number];

const SIZE_WORDS: Record<string, Size> = {
  small: 'small',
  tiny: 'small',
  little: 'small',
  mini: 'small',
  smallish: 'small',
  petite: 'small',
  teeny: 'small',
  miniature: 'small',
  medium: 'medium',
  midsize: 'medium',
  midsized: 'medium',
  normal: 'medium',
  average: 'medium',
  regular: 'medium',
  moderate: 'medium',
  large: 'large',
  big: 'large',
  huge: 'large',
  giant: 'large',
  enormous: 'large',
  massive: 'large',
  largish: 'large',
  biggish: 'large',
  jumbo: 'large',
  gigantic: 'large',
};

/** Comparatives and size verbs: +1 one size up, -1 one size down. */
const RESIZE_WORDS: Record<string, 1 | -1> = {
  bigger: 1,
  larger: 1,
  grow: 1,
  enlarge: 1,
  smaller: -1,
  tinier: -1,
  littler: -1,
  shrink: -1,
};

export const POSITIONS = [
  'top-left',
  'top',
  'top-right',
  'left',
  'center',
  'right',
  'bottom-left',
  'bottom',
  'bottom-right',
] as const;
export type Position = (typeof POSITIONS)[number];

/** Row and column (0..2, top-left is 0,0) of each position on the 3×3 grid. */
export const POSITION_GRID: Record<Position, { row: number; col: number }> = {
  'top-left': { row: 0, col: 0 },
  top: { row: 0, col: 1 },
  'top-right': { row: 0, col: 2 },
  left: { row: 1, col: 0 },
  center: { row: 1, col: 1 },
  right: { row: 1, col: 2 },
  'bottom-left': { row: 2, col: 0 },
  bottom: { row: 2, col: 1 },
  'bottom-right': { row: 2, col: 2 },
};

export function positionAt(row: number, col: number): Position {
  return POSITIONS[row * 3 + col] as Position;
}

export type Count = 1 | 2 | 3;
export const COUNT_WORDS: Record<Count, string> = { 1: 'a', 2: 'two', 3: 'three' };

const COUNT_SYNONYMS: Record<string, number> = {
  one: 1,
  single: 1,
  two: 2,
  pair: 2,
  couple: 2,
  three: 3,
  few: 3,
  several: 3,
  many: 3,
  multiple: 3,
  lots: 3,
  triple: 3,
  trio: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
};

export const BACKGROUND_WORDS: ReadonlySet<string> = new Set([
  'background',
  'backgrounds',
  'backdrop',
  'bg',
  'backround',
  'backgroud',
]);

/** Nouns that stand for an object without naming its shape ("the red one", "a big thing"). */
export const GENERIC_NOUNS: ReadonlySet<string> = new Set([
  'thing',
  'shape',
  'object',
  'something',
  'figure',
  'item',
  'blob',
  'symbol',
  'icon',
]);

export function colourOf(word: string): Colour | undefined {
  if ((COLOURS as readonly string[]).includes(word)) return word as Colour;
  return COLOUR_SYNONYMS[word];
}

export function sizeOf(word: string): Size | undefined {
  return SIZE_WORDS[word];
}

export function resizeOf(word: string): 1 | -1 | undefined {
  return RESIZE_WORDS[word];
}

/** Counts above 3 are clamped: the scene world draws at most three copies. */
export function countOf(word: string): Count | undefined {
  const n = /^\d+$/.test(word) ? Number(word) : COUNT_SYNONYMS[word];
  if (n === undefined || n < 1) return undefined;
  return Math.min(n, 3) as Count;
}

export function shapePhraseOf(twoWords: string): { shape: Shape; plural: boolean } | undefined {
  const shape = SHAPE_PHRASES[twoWords];
  return shape ? { shape, plural: twoWords.endsWith('s') } : undefined;
}

const SHAPE_NAMES: ReadonlyMap<string, Shape> = new Map([
  ...SHAPES.map((s) => [s, s] as const),
  ...Object.entries(SHAPE_SYNONYMS),
]);

/** Shape of a word, accepting plurals and one-letter typos in longer names ("cirlce", "sqaure"). */
export function shapeOf(word: string): { shape: Shape; plural: boolean } | undefined {
  const exact = SHAPE_NAMES.get(word);
  if (exact) return { shape: exact, plural: false };
  for (const stem of [word.replace(/es$/, ''), word.replace(/s$/, '')]) {
    const shape = stem !== word ? SHAPE_NAMES.get(stem) : undefined;
    if (shape) return { shape, plural: true };
  }
  if (word.length < 6) return undefined;
  for (const shape of SHAPES) {
    if (shape.length >= 6 && withinOneEdit(word, shape)) return { shape, plural: false };
    if (shape.length >= 6 && withinOneEdit(word, `${shape}s`)) return { shape, plural: true };
  }
  return undefined;
}

/** Damerau distance ≤ 1: one substitution, insertion, deletion or adjacent swap. */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return true;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

export const SHAPE_PLURALS: Record<Shape, string> = {
  circle: 'circles',
  square: 'squares',
  triangle: 'triangles',
  star: 'stars',
  heart: 'hearts',
  hexagon: 'hexagons',
  diamond: 'diamonds',
  cross: 'crosses',
  ring: 'rings',
  pentagon: 'pentagons',
};
