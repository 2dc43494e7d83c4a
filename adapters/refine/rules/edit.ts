import {
  type Colour,
  type Lexed,
  lexScene,
  type Mention,
  type MentionOf,
  type PartialObject,
} from '../../scene/index.ts';
import { type Attribute, applyAttribute, type ClauseContext } from './attributes.ts';
import { renameShapes } from './rename.ts';
import { addObject, type EditState, findByShape, oneMore, removeObject, shownPosition } from './state.ts';

type Noun = MentionOf<'shape'> | MentionOf<'generic'> | MentionOf<'pronoun'>;
type Anchor = { mention: Mention; object: PartialObject };

/** Words that make "a star" another group even when there already is a star. */
const ADD_CUES = new Set(['also', 'add', 'another', 'additionally', 'too', 'extra']);
/** Words that make a new shape an addition rather than a correction of the current object. */
const WEAK_ADD_CUES = new Set([
  'there',
  "there's",
  'theres',
  'next',
  'beside',
  'near',
  'above',
  'below',
  'under',
  'behind',
]);
const REMOVE_CUES = new Set(['remove', 'delete', 'drop', 'erase', 'rid', 'lose', 'minus', 'away', 'out']);
const ONLY_CUES = new Set(['only', 'just', 'except']);
const NOUN_NEGATIONS = new Set(['no', 'none', 'never', 'without']);
/** Words that make "a square" a correction of the current object rather than a new one. */
const REPLACE_CUES = new Set([
  'actually',
  'instead',
  'rather',
  'make',
  'change',
  'turn',
  'it',
  "it's",
  'its',
  'should',
  'must',
  'meant',
  'like',
  'is',
  'was',
  'be',
]);
const ALL_WORDS = new Set(['all', 'everything', 'both', 'each', 'every']);
const ATTRIBUTE_KINDS = new Set<Mention['kind']>(['colour', 'size', 'count', 'position', 'resize', 'shift']);

/** Applies one message of corrections and additions to the scene, clause by clause. */
export function applyMessage(state: EditState, message: string): void {
  const lexed = lexScene(message);
  const handled = renameShapes(state, lexed);
  const clauses = new Map<number, Mention[]>();
  for (const m of lexed.mentions) {
    if (!handled.has(m)) clauses.set(m.clause, [...(clauses.get(m.clause) ?? []), m]);
  }
  // Objects this message already spoke about: "a red circle and a blue circle" are two circles.
  const touched = new Set<PartialObject>();
  let aboutBackground = false;
  let first = true;
  for (const [clause, mentions] of clauses) {
    const words = new Set(lexed.tokens.filter((_, i) => lexed.clauseOf[i] === clause));
    // "and a blue star" / "plus a ring" as a whole message add to the scene.
    if (first && (lexed.tokens[0] === 'and' || lexed.tokens[0] === 'plus')) words.add('also');
    first = false;
    if (aboutBackground && mentions.every((m) => m.kind === 'colour' || m.kind === 'pronoun')) {
      // "the background isn't white, it's yellow": the second clause is still about the background.
      for (const m of mentions) if (m.kind === 'colour' && !m.negation) state.background = m.colour;
      continue;
    }
    applyClause(state, lexed, mentions, { words, tokens: lexed.tokens, said: new Map() }, touched);
    aboutBackground = mentions.some((m) => m.kind === 'background') && !mentions.some(isNoun);
  }
}

function isNoun(m: Mention): m is Noun {
  return m.kind === 'shape' || m.kind === 'generic' || m.kind === 'pronoun';
}

function applyClause(
  state: EditState,
  lexed: Lexed,
  mentions: Mention[],
  context: ClauseContext,
  touched: Set<PartialObject>,
): void {
  const has = (set: Set<string>) => [...context.words].some((w) => set.has(w));
  const strongAdd = has(ADD_CUES);
  const additive = strongAdd || has(WEAK_ADD_CUES);
  const removal = has(REMOVE_CUES);
  const identifiers = new Set<Mention>();
  const anchors: Anchor[] = [];
  const nouns = mentions.filter(isNoun);
  const namesKnownShape = nouns.some((n) => n.kind === 'shape' && !n.negation && findByShape(state, n.shape));
  const onlyMention = lexed.mentions.length === 1;

  if (has(ONLY_CUES) && keepOnly(state, mentions, removal)) return;

  for (const noun of nouns) {
    if (noun.kind === 'pronoun') {
      if (state.focus && removal) removeObject(state, state.focus);
      else if (state.focus) anchors.push({ mention: noun, object: state.focus });
      continue;
    }
    if (noun.kind === 'generic' && noun.determiner === 'another' && state.focus) {
      // "another one": one more of the current group.
      state.focus.count = oneMore(state.focus);
      anchors.push({ mention: noun, object: state.focus });
      continue;
    }
    if (noun.kind === 'generic') {
      const found = identify(state, lexed, mentions, noun, identifiers, additive);
      if (found && (removal || NOUN_NEGATIONS.has(noun.negation ?? ''))) removeObject(state, found);
      else if (found && !noun.negation) anchors.push({ mention: noun, object: found });
      else if (!found && !noun.negation) {
        // "and a blue one": another object of the current shape.
        const shape = noun.word === 'one' ? state.focus?.shape : undefined;
        anchors.push({ mention: noun, object: addObject(state, shape ? { shape } : {}) });
      }
      continue;
    }
    const existing = findByShape(state, noun.shape, colourBefore(mentions, noun));
    if (noun.negation || removal) {
      if (!existing) continue;
      const removes = removal || NOUN_NEGATIONS.has(noun.negation ?? '') || context.words.has('there');
      if (removes) removeObject(state, existing);
      else delete existing.shape;
      continue;
    }
    const fresh =
      noun.determiner === 'another' ||
      (noun.determiner === 'indefinite' && (strongAdd || (existing !== undefined && touched.has(existing))));
    if (existing && !fresh) {
      anchors.push({ mention: noun, object: existing });
    } else if (existing && noun.determiner === 'another' && !mentions.some((m) => m.kind === 'colour')) {
      existing.count = oneMore(existing);
      anchors.push({ mention: noun, object: existing });
    } else if (
      state.focus &&
      !additive &&
      !namesKnownShape &&
      (has(REPLACE_CUES) || onlyMention || !state.focus.shape)
    ) {
      state.focus.shape = noun.shape;
      anchors.push({ mention: noun, object: state.focus });
    } else {
      const object = addObject(state, noun.plural ? { shape: noun.shape, count: 2 } : { shape: noun.shape });
      anchors.push({ mention: noun, object });
    }
  }

  for (const m of mentions) {
    if (identifiers.has(m)) continue;
    if (m.kind === 'background') {
      if (!m.negation) state.background = m.colour;
      else if (state.background === m.colour) delete state.background;
      continue;
    }
    if (!ATTRIBUTE_KINDS.has(m.kind)) continue;
    const targets = targetsOf(state, m, anchors, context.words);
    for (const target of targets) applyAttribute(state, target, m as Attribute, context);
    if (targets.length === 1) state.focus = targets[0];
  }
  for (const a of anchors) touched.add(a.object);
  const last = anchors.at(-1);
  if (last && state.objects.includes(last.object)) state.focus = last.object;
}

/** "only the star", "just the circle and the heart", "remove everything except the star". */
function keepOnly(state: EditState, mentions: Mention[], removal: boolean): boolean {
  const shapes = mentions.filter((m): m is MentionOf<'shape'> => m.kind === 'shape' && !m.negation);
  const plain = mentions.every((m) => m.kind === 'shape');
  if (shapes.length === 0 || !(plain || removal)) return false;
  const kept = state.objects.filter((o) => shapes.some((m) => m.shape === o.shape));
  if (kept.length === 0) return false;
  state.objects = kept;
  state.focus = kept.at(-1);
  return true;
}

/** Nearest noun in the clause; else every object for "all/both/everything"; else the current object. */
function targetsOf(
  state: EditState,
  m: Mention,
  anchors: Anchor[],
  words: ReadonlySet<string>,
): PartialObject[] {
  const all = [...words].some((w) => ALL_WORDS.has(w));
  if (all && state.objects.length > 0 && !anchors.some((a) => a.mention.kind === 'shape'))
    return state.objects;
  let best: Anchor | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const a of anchors) {
    const after = a.mention.start > m.end;
    const distance = after ? a.mention.start - m.end : m.start - a.mention.end;
    // Adjectives lean forward ("red circle"), positions back ("circle at the top").
    const score = distance * 2 + (after === (m.kind === 'position') ? 1 : 0);
    if (score < bestScore) {
      best = a;
      bestScore = score;
    }
  }
  if (best && state.objects.includes(best.object)) return [best.object];
  if (state.focus && state.objects.includes(state.focus)) return [state.focus];
  return [addObject(state, {})];
}

function colourBefore(mentions: Mention[], noun: Mention): Colour | undefined {
  const m = mentions.find((x) => x.kind === 'colour' && x.end >= noun.start - 2 && x.end < noun.start);
  return m?.kind === 'colour' ? m.colour : undefined;
}

/**
 * The object "the red one", "the big one", "the one on the left" means (by colour, size or the
 * position it was drawn at), else the current object; undefined when the noun introduces a new one.
 */
function identify(
  state: EditState,
  lexed: Lexed,
  mentions: Mention[],
  noun: MentionOf<'generic'>,
  identifiers: Set<Mention>,
  additive: boolean,
): PartialObject | undefined {
  const definite = noun.determiner === 'definite' || lexed.tokens[noun.start - 1] === 'the';
  if (!definite && (additive || !state.focus)) return undefined;
  const before = mentions.find((m) => m.end === noun.start - 1);
  const after = mentions.find((m) => m.kind === 'position' && m.start > noun.end && m.start <= noun.end + 3);
  for (const m of [before, after]) {
    const match = m && state.objects.findLast((o) => describes(state, m, o));
    if (m && match) {
      identifiers.add(m);
      return match;
    }
  }
  return state.focus;
}

function describes(state: EditState, m: Mention, o: PartialObject): boolean {
  if (m.kind === 'colour') return o.colour === m.colour;
  if (m.kind === 'size') return o.size === m.size;
  return m.kind === 'position' && shownPosition(state, o) === m.position;
}
