import type { Lexed, Mention, MentionOf, PartialObject, Shape } from '../../scene/index.ts';
import { type EditState, findByShape } from './state.ts';

/** Words that may sit between "the star" and "a heart" in "change the star into a heart". */
const GLUE = new Set([
  'is',
  "it's",
  'should',
  'be',
  'was',
  'actually',
  'really',
  'more',
  'like',
  'to',
  'into',
  'with',
  'for',
  'become',
  'becomes',
  'must',
  'rather',
  'a',
  'an',
  'the',
  'instead',
  'of',
  'i',
  'meant',
  'but',
  ',',
]);
const VERBS = new Set(['is', 'be', 'was', 'become', 'becomes', 'actually', 'into', 'to', 'instead', 'meant']);
const SWAP_VERBS = new Set(['replace', 'swap', 'switch', 'exchange', 'substitute']);

/**
 * "not a star, a heart", "a heart, not a star", "change the star into a heart", "a heart instead
 * of the star": the object keeps everything but its shape. Returns the mentions handled here.
 */
export function renameShapes(state: EditState, lexed: Lexed): Set<Mention> {
  const handled = new Set<Mention>();
  const shapes = lexed.mentions.filter((m): m is MentionOf<'shape'> => m.kind === 'shape');
  const swapVerb = lexed.tokens.some((t) => SWAP_VERBS.has(t));
  for (let k = 0; k + 1 < shapes.length; k++) {
    const a = shapes[k] as MentionOf<'shape'>;
    const b = shapes[k + 1] as MentionOf<'shape'>;
    const objectA = findByShape(state, a.shape);
    const objectB = findByShape(state, b.shape);
    const between = lexed.tokens.slice(a.end + 1, b.start);
    let rename: { object: PartialObject; mention: Mention; to: Shape } | undefined;
    if (a.negation && !b.negation && objectA && !objectB && b.determiner !== 'another') {
      rename = { object: objectA, mention: a, to: b.shape };
    } else if (!a.negation && b.negation && objectB && !objectA) {
      rename = { object: objectB, mention: b, to: a.shape };
    } else if (!a.negation && !b.negation && between.every((t) => GLUE.has(t))) {
      const cue =
        between.some((t) => VERBS.has(t)) || (swapVerb && between.some((t) => t === 'with' || t === 'for'));
      const backwards = between.includes('instead') && between.includes('of');
      if (cue && backwards && objectB && !objectA) rename = { object: objectB, mention: b, to: a.shape };
      else if (cue && !backwards && objectA && !objectB)
        rename = { object: objectA, mention: a, to: b.shape };
    }
    if (rename) {
      rename.object.shape = rename.to;
      state.focus = rename.object;
      handled.add(rename.mention);
      k++;
    }
  }
  return handled;
}
