import {
  BACKGROUND_WORDS,
  type Colour,
  type Count,
  colourOf,
  countOf,
  GENERIC_NOUNS,
  type Position,
  positionAt,
  resizeOf,
  type Shape,
  type Size,
  shapeOf,
  shapePhraseOf,
  sizeOf,
} from './vocabulary.ts';

/** How a noun was introduced: "the star" / "a star" / "another star" / "star". */
export type Determiner = 'definite' | 'indefinite' | 'another' | 'none';

interface Span {
  /** First and last token index. */
  start: number;
  end: number;
  clause: number;
  /** The negation word in front of it ("not", "no", "without"…), if any. */
  negation?: string;
}

export type Mention = Span &
  (
    | { kind: 'shape'; shape: Shape; plural: boolean; determiner: Determiner }
    | { kind: 'generic'; plural: boolean; determiner: Determiner; word: string }
    | { kind: 'pronoun' }
    | { kind: 'colour'; colour: Colour }
    | { kind: 'size'; size: Size }
    | { kind: 'resize'; steps: number }
    | { kind: 'count'; count: Count }
    | { kind: 'position'; position: Position; row?: number; col?: number }
    | { kind: 'shift'; rows: number }
    | { kind: 'background'; colour: Colour }
  );

export type MentionOf<K extends Mention['kind']> = Extract<Mention, { kind: K }>;

export interface Lexed {
  tokens: string[];
  /** Clause number of each token; punctuation and "and/but/with…" end a clause. */
  clauseOf: number[];
  mentions: Mention[];
}

const BOUNDARY_WORDS = new Set([
  'and',
  'but',
  'plus',
  'while',
  'whereas',
  'with',
  'then',
  'though',
  'although',
]);
const NEGATIONS = new Set([
  'not',
  'no',
  'none',
  'never',
  'without',
  'nor',
  "isn't",
  'isnt',
  "aren't",
  'arent',
  "wasn't",
  'wasnt',
  "weren't",
  "don't",
  'dont',
  "doesn't",
  'doesnt',
  "didn't",
  'didnt',
  "shouldn't",
  "can't",
]);
const NOUN_NEGATIONS = new Set(['no', 'none', 'never', 'without']);
const ADJECTIVES = new Set<Mention['kind']>(['colour', 'size', 'count']);
const DEFINITE = new Set([
  'the',
  'this',
  'that',
  'these',
  'those',
  'its',
  "it's",
  'my',
  'our',
  'their',
  'your',
]);
const INDEFINITE = new Set(['a', 'an', 'some', 'any']);
const ANOTHER = new Set(['another', 'extra', 'additional', 'second', 'new']);
const PRONOUNS = new Set(['it', "it's", 'its', 'them', 'they', "they're", 'theyre']);
/** Words after which "one" means "the … one" (an object), not the number. */
const ANAPHORIC_ONE_AFTER = new Set(['the', 'that', 'this', 'which', 'other', 'another', 'each', 'every']);

const VERTICAL: Record<string, number> = { top: 0, upper: 0, bottom: 2 };
/** Vertical only next to another position word ("lower left", "up top"); alone they move things. */
const SHIFTY_VERTICAL: Record<string, number> = { lower: 2, up: 0, down: 2 };
const SHIFTS: Record<string, number> = {
  higher: -1,
  lower: 1,
  up: -1,
  down: 1,
  upward: -1,
  upwards: -1,
  downward: 1,
  downwards: 1,
};
const HORIZONTAL: Record<string, number> = { left: 0, leftmost: 0, right: 2, rightmost: 2 };
const MIDDLE = new Set(['center', 'centre', 'middle', 'central', 'centered', 'centred', 'mid']);
/** Words that may sit between position words ("middle of the left side"). */
const POSITION_GLUE = new Set(['of', 'the', 'far', 'very']);
/** Nouns that end a position phrase ("top left corner", "left-hand side"). */
const POSITION_NOUNS = new Set(['hand', 'side', 'corner', 'edge', 'part', 'half', 'area']);
/** "that's right", "all right", "right now": not the position. */
const NOT_RIGHT_BEFORE = new Set([
  "that's",
  'thats',
  'that',
  'is',
  'all',
  'yes',
  'yeah',
  'exactly',
  'quite',
  'just',
]);
const NOT_RIGHT_AFTER = new Set(['now', 'away', 'then']);
const COLOUR_NOUN_FILLERS = new Set(['coloured', 'colored', 'color', 'colour']);
const INTENSIFIERS = new Set(['much', 'way', 'lot', 'far', 'lots']);

function tokenize(text: string): string[] {
  const normal = text.toLowerCase().replace(/[’‘`]/g, "'");
  return normal.match(/[a-z0-9]+(?:'[a-z]+)?|[.,;:!?()\n]+/g) ?? [];
}

function isPunctuation(token: string): boolean {
  return /^[^a-z0-9]/.test(token);
}

/** Splits a text into tokens and clauses and finds every scene-related mention in it. */
export function lexScene(text: string): Lexed {
  const tokens = tokenize(text);
  const boundary = tokens.map((t, i) => isPunctuation(t) || (BOUNDARY_WORDS.has(t) && !shapeAt(tokens, i)));
  const clauseOf: number[] = [];
  let clause = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (boundary[i]) clause++;
    clauseOf.push(boundary[i] ? -1 : clause);
  }
  const mentions: Mention[] = [];
  const used = new Set<number>();
  let negation: { word: string; at: number } | undefined;

  const add = (m: Mention) => {
    if (negation && clauseOf[negation.at] === m.clause && m.start - negation.at <= 4) {
      // "no big red stars" denies the stars, "not red" denies the colour.
      const forNoun = NOUN_NEGATIONS.has(negation.word) && ADJECTIVES.has(m.kind);
      // "I don't think it was red": the negation passes over the pronoun.
      if (!forNoun && m.kind !== 'pronoun') {
        m.negation = negation.word;
        negation = undefined;
      }
    }
    mentions.push(m);
    for (let k = m.start; k <= m.end; k++) used.add(k);
  };

  for (let i = 0; i < tokens.length; i++) {
    if (used.has(i) || boundary[i]) continue;
    const word = tokens[i] as string;
    const span = { start: i, end: i, clause: clauseOf[i] as number };
    if (NEGATIONS.has(word)) {
      negation = { word, at: i };
      continue;
    }
    const phrase = shapeAt(tokens, i);
    if (phrase) {
      const end = i + phrase.length - 1;
      add({
        ...span,
        end,
        kind: 'shape',
        ...phrase.shape,
        determiner: determinerBefore(tokens, clauseOf, i),
      });
      continue;
    }
    if ((word === 'mid' || word === 'medium') && /^sized?$/.test(tokens[i + 1] ?? '')) {
      add({ ...span, end: i + 1, kind: 'size', size: 'medium' });
      continue;
    }
    const position = positionRun(tokens, i);
    if (position) {
      add({ ...span, ...position });
      continue;
    }
    if (word in SHIFTS) {
      add({ ...span, kind: 'shift', rows: SHIFTS[word] as number });
      continue;
    }
    const colour = colourOf(word);
    if (colour) {
      const bg =
        backgroundAfterColour(tokens, i) ?? (onColourAtClauseEnd(tokens, boundary, i) ? i : undefined);
      add({ ...span, end: bg ?? i, kind: bg === undefined ? 'colour' : 'background', colour });
      continue;
    }
    if (BACKGROUND_WORDS.has(word)) {
      const found = colourAfterBackground(tokens, clauseOf, i);
      if (found) {
        // The colour may sit a few words on ("background should be teal"); mark only it as used.
        const m: Mention = {
          ...span,
          start: found.at,
          end: found.at,
          kind: 'background',
          colour: found.colour,
        };
        if (found.negation) m.negation = found.negation;
        mentions.push(m);
        used.add(found.at);
      }
      continue;
    }
    const size = sizeOf(word);
    if (size) {
      if (tokens[i - 1] === 'too') add({ ...span, kind: 'resize', steps: size === 'small' ? 1 : -1 });
      else add({ ...span, kind: 'size', size });
      continue;
    }
    const resize = resizeOf(word);
    if (resize) {
      const steps = INTENSIFIERS.has(tokens[i - 1] ?? '') ? resize * 2 : resize;
      add({ ...span, kind: 'resize', steps });
      continue;
    }
    if (PRONOUNS.has(word)) {
      add({ ...span, kind: 'pronoun' });
      continue;
    }
    const generic = genericAt(tokens, i);
    if (generic) {
      add({ ...span, kind: 'generic', ...generic, determiner: determinerBefore(tokens, clauseOf, i) });
      continue;
    }
    const count = word === 'one' && tokens[i + 1] === 'more' ? undefined : countOf(word);
    if (count) add({ ...span, kind: 'count', count });
  }
  mentions.sort((a, b) => a.start - b.start);
  return { tokens, clauseOf, mentions };
}

function shapeAt(
  tokens: string[],
  i: number,
): { shape: { shape: Shape; plural: boolean }; length: number } | undefined {
  const two = tokens[i + 1] ? shapePhraseOf(`${tokens[i]} ${tokens[i + 1]}`) : undefined;
  if (two) return { shape: two, length: 2 };
  const one = shapeOf(tokens[i] as string);
  return one ? { shape: one, length: 1 } : undefined;
}

function genericAt(tokens: string[], i: number): { plural: boolean; word: string } | undefined {
  const word = tokens[i] as string;
  if (word === 'one' || word === 'ones') {
    const before = tokens[i - 1] ?? '';
    const anaphoric =
      ANAPHORIC_ONE_AFTER.has(before) || colourOf(before) || sizeOf(before) || positionWord(before);
    return anaphoric ? { plural: word === 'ones', word } : undefined;
  }
  if (GENERIC_NOUNS.has(word)) return { plural: false, word };
  const stem = word.replace(/s$/, '');
  return stem !== word && GENERIC_NOUNS.has(stem) ? { plural: true, word: stem } : undefined;
}

function determinerBefore(tokens: string[], clauseOf: number[], i: number): Determiner {
  for (let j = i - 1; j >= Math.max(0, i - 4) && clauseOf[j] === clauseOf[i]; j--) {
    const t = tokens[j] as string;
    if (ANOTHER.has(t) || (t === 'more' && tokens[j - 1] === 'one')) return 'another';
    if (DEFINITE.has(t)) return 'definite';
    if (INDEFINITE.has(t) || countOf(t)) return 'indefinite';
    if (NEGATIONS.has(t)) return 'none';
  }
  return 'none';
}

type PositionMention = { kind: 'position'; position: Position; row?: number; col?: number; end: number };

function positionWord(t: string): 'v' | 'h' | 'm' | undefined {
  if (t in VERTICAL || t in SHIFTY_VERTICAL) return 'v';
  if (t in HORIZONTAL) return 'h';
  return MIDDLE.has(t) ? 'm' : undefined;
}

/** A run like "top left", "upper right corner", "middle of the left side", "left-hand side". */
function positionRun(tokens: string[], i: number): PositionMention | undefined {
  const first = tokens[i] as string;
  if (!positionWord(first)) return undefined;
  let end = i;
  let words = 0;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j] as string;
    if (positionWord(t)) {
      end = j;
      words++;
    } else if (!POSITION_GLUE.has(t) && !POSITION_NOUNS.has(t)) break;
  }
  if (first in SHIFTY_VERTICAL && words === 1) return undefined;
  if (first === 'right' && words === 1) {
    const before = tokens[i - 1];
    const after = tokens[i + 1];
    if ((before && NOT_RIGHT_BEFORE.has(before)) || (after && NOT_RIGHT_AFTER.has(after))) return undefined;
    if (i === 0 && (after === undefined || isPunctuation(after))) return undefined;
  }
  let row: number | undefined;
  let col: number | undefined;
  let middle = false;
  for (let j = i; j <= end; j++) {
    const t = tokens[j] as string;
    const kind = positionWord(t);
    if (kind === 'v') row = VERTICAL[t] ?? SHIFTY_VERTICAL[t];
    else if (kind === 'h') col = HORIZONTAL[t];
    else if (kind === 'm') middle = true;
  }
  while (POSITION_NOUNS.has(tokens[end + 1] ?? '')) end++;
  if (middle) {
    if (row === undefined) row = 1;
    if (col === undefined) col = 1;
  }
  const out: PositionMention = { kind: 'position', position: positionAt(row ?? 1, col ?? 1), end };
  if (row !== undefined) out.row = row;
  if (col !== undefined) out.col = col;
  return out;
}

/** "teal background", "teal coloured backdrop": index of the background word. */
function backgroundAfterColour(tokens: string[], i: number): number | undefined {
  let j = i + 1;
  while (COLOUR_NOUN_FILLERS.has(tokens[j] ?? '')) j++;
  return BACKGROUND_WORDS.has(tokens[j] ?? '') ? j : undefined;
}

/** "… on white." / "… on a teal" at the end of a clause. */
function onColourAtClauseEnd(tokens: string[], boundary: boolean[], i: number): boolean {
  const atEnd = i + 1 >= tokens.length || boundary[i + 1] === true;
  if (!atEnd) return false;
  const before = tokens[i - 1];
  return before === 'on' || (INDEFINITE.has(before ?? '') && tokens[i - 2] === 'on');
}

/** "background is teal", "background should be a light teal", "background isn't red". */
function colourAfterBackground(
  tokens: string[],
  clauseOf: number[],
  i: number,
): { colour: Colour; at: number; negation?: string } | undefined {
  let negation: string | undefined;
  for (let j = i + 1; j <= i + 5 && clauseOf[j] === clauseOf[i]; j++) {
    const t = tokens[j] as string;
    if (NEGATIONS.has(t)) negation = t;
    const colour = colourOf(t);
    if (colour) return negation ? { colour, at: j, negation } : { colour, at: j };
    if (shapeAt(tokens, j) || GENERIC_NOUNS.has(t)) return undefined;
  }
  return undefined;
}
