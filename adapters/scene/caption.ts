import type { PartialObject, PartialScene, Scene } from './scene.ts';
import { COUNT_WORDS, type Position, SHAPE_PLURALS } from './vocabulary.ts';

const POSITION_PHRASES: Record<Position, string> = {
  'top-left': 'at the top left',
  top: 'at the top',
  'top-right': 'at the top right',
  left: 'on the left',
  center: 'in the center',
  right: 'on the right',
  'bottom-left': 'at the bottom left',
  bottom: 'at the bottom',
  'bottom-right': 'at the bottom right',
};

/** How a caption says where something is: "at the top left", "in the center" … */
export function positionPhrase(p: Position): string {
  return POSITION_PHRASES[p];
}

/**
 * A plain-English description that parseScene reads back to the same (partial) scene, e.g.
 * "a large red circle at the top left and two small blue stars at the bottom right on a teal background".
 * Only stated attributes are mentioned; an empty partial scene gives "".
 */
export function captionScene(scene: Scene | PartialScene): string {
  const parts = scene.objects.map(describeObject);
  const list = parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  const background = scene.background ? `${withArticle(scene.background)} background` : '';
  if (!list) return background;
  return background ? `${list} on ${background}` : list;
}

function describeObject(o: PartialObject): string {
  const count = o.count ?? 1;
  const noun = o.shape ? (count > 1 ? SHAPE_PLURALS[o.shape] : o.shape) : count > 1 ? 'shapes' : 'shape';
  const words = [o.size, o.colour, noun].filter(Boolean).join(' ');
  const head = count > 1 ? `${COUNT_WORDS[count]} ${words}` : withArticle(words);
  return o.position ? `${head} ${positionPhrase(o.position)}` : head;
}

function withArticle(words: string): string {
  return /^[aeiou]/.test(words) ? `an ${words}` : `a ${words}`;
}
