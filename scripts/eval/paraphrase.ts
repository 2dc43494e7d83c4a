/**
 * How a perceiving user puts what it sees into words: several templates per attribute and per
 * kind of correction, chosen by the user's seeded rng. They were written as people talk, not from
 * the rule refiner's grammar; some of them it reads only in part (docs/eval.md gives the measured
 * share).
 */
import {
  COUNT_WORDS,
  type Colour,
  type Count,
  type Position,
  SHAPE_PLURALS,
  type Shape,
  type Size,
} from '../../adapters/scene/vocabulary.ts';
import type { SeenObject } from './perception.ts';

type Pick = <T>(items: readonly T[]) => T;

const WHERE: Record<Position, readonly string[]> = {
  'top-left': ['at the top left', 'in the upper left corner', 'up in the top-left corner'],
  top: ['at the top', 'along the top edge', 'up at the top, in the middle'],
  'top-right': ['at the top right', 'in the upper right corner', 'up in the top-right corner'],
  left: ['on the left', 'on the left side', 'over on the left'],
  center: ['in the center', 'in the middle', 'right in the centre'],
  right: ['on the right', 'on the right side', 'over on the right'],
  'bottom-left': ['at the bottom left', 'in the lower left corner', 'down in the bottom-left corner'],
  bottom: ['at the bottom', 'along the bottom edge', 'down at the bottom, in the middle'],
  'bottom-right': ['at the bottom right', 'in the lower right corner', 'down in the bottom-right corner'],
};

const SIZE_WORDS: Record<Size, readonly string[]> = {
  small: ['small', 'tiny', 'little'],
  medium: ['medium', 'medium-sized', 'middling'],
  large: ['large', 'big', 'huge'],
};

const COUNT_PHRASES: Record<Count, readonly string[]> = {
  1: ['one', 'a single', 'just one'],
  2: ['two', 'a pair of', 'a couple of'],
  3: ['three', 'three', 'a trio of'],
};

export function where(p: Position, pick: Pick): string {
  return pick(WHERE[p]);
}

function noun(shape: Shape, count: Count): string {
  return count > 1 ? SHAPE_PLURALS[shape] : shape;
}

function article(words: string): string {
  return /^[aeiou]/.test(words) ? `an ${words}` : `a ${words}`;
}

/** One object group in words, e.g. "two big red stars in the upper left corner". */
export function describeObject(o: SeenObject, pick: Pick): string {
  const size = pick(SIZE_WORDS[o.size]);
  const head =
    o.count > 1
      ? `${pick(COUNT_PHRASES[o.count])} ${size} ${o.colour} ${noun(o.shape, o.count)}`
      : article(`${size} ${o.colour} ${o.shape}`);
  return pick([`${head} ${where(o.position, pick)}`, `${head}, ${where(o.position, pick)}`]);
}

function list(parts: string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** The round-0 description: everything the user sees in the target. */
export function fullDescription(seen: { background: Colour; objects: SeenObject[] }, pick: Pick): string {
  const things = list(seen.objects.map((o) => describeObject(o, pick)));
  const bg = seen.background;
  if (!things) return pick([`just a plain ${bg} background`, `an empty ${bg} picture`]);
  return pick([
    `${things} on ${article(bg)} background`,
    `${things}; the background is ${bg}`,
    `a ${bg} background with ${things}`,
    `I'm looking for ${things}, all on ${bg}`,
  ]);
}

export type Correction =
  | { kind: 'background'; colour: Colour }
  | { kind: 'missing'; object: SeenObject }
  | { kind: 'extra'; shape: Shape }
  | { kind: 'colour'; shape: Shape; colour: Colour; was?: Colour | undefined }
  | { kind: 'position'; shape: Shape; position: Position }
  | { kind: 'size'; shape: Shape; size: Size; was?: Size | undefined }
  | { kind: 'shape'; shape: Shape; was?: Shape | undefined }
  | { kind: 'count'; shape: Shape; count: Count };

const SIZE_ORDER: Record<Size, number> = { small: 0, medium: 1, large: 2 };

/** The ways of saying one correction; the user walks through them when it has to repeat itself. */
export function phrasings(c: Correction, pick: Pick): string[] {
  switch (c.kind) {
    case 'background':
      return [
        `the background is ${c.colour}`,
        `make the background ${c.colour}`,
        `the whole backdrop was ${c.colour}`,
        `it was all on ${c.colour}`,
      ];
    case 'missing': {
      const what = describeObject(c.object, pick);
      return [`there is also ${what}`, `add ${what}`, `you forgot ${what}`, `I also remember ${what}`];
    }
    case 'extra':
      return [
        `there is no ${c.shape}`,
        `remove the ${c.shape}`,
        `get rid of the ${c.shape}`,
        `the ${c.shape} was not there`,
      ];
    case 'colour':
      return [
        `the ${c.shape} is ${c.colour}`,
        c.was ? `the ${c.shape} should be ${c.colour}, not ${c.was}` : `the ${c.shape} should be ${c.colour}`,
        `make the ${c.shape} ${c.colour}`,
        `the colour of the ${c.shape} is off, it is more of a ${c.colour}`,
      ];
    case 'position': {
      const at = where(c.position, pick);
      return [`the ${c.shape} is ${at}`, `move the ${c.shape} ${at}`, `I think the ${c.shape} was ${at}`];
    }
    case 'size': {
      const word = pick(SIZE_WORDS[c.size]);
      const relative = c.was
        ? SIZE_ORDER[c.size] > SIZE_ORDER[c.was]
          ? `the ${c.shape} should be bigger`
          : `the ${c.shape} should be smaller`
        : `the ${c.shape} is ${word}`;
      return [`the ${c.shape} is ${word}`, relative, `the ${c.shape} was ${word}, I think`];
    }
    case 'shape':
      return c.was
        ? [
            `not a ${c.was}, a ${c.shape}`,
            `the ${c.was} should be a ${c.shape}`,
            `it's a ${c.shape} rather than a ${c.was}`,
            `swap the ${c.was} for a ${c.shape}`,
          ]
        : [`it is a ${c.shape}`, `the shape is a ${c.shape}`, `I remember a ${c.shape}`];
    case 'count': {
      const n = c.count === 1 ? 'one' : COUNT_WORDS[c.count];
      const things = noun(c.shape, c.count);
      return [
        c.count > 1 ? `there are ${n} ${things}` : `there is one ${things}`,
        `I remember ${n} ${things}`,
        `it should be ${n} ${things}`,
      ];
    }
  }
}
