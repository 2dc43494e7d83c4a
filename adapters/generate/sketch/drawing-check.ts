/**
 * The hallucination check of the offline world: both the query and the sketch generator's
 * interpretation are scenes in the grammar, so "drawn but never asked for" is an object group
 * whose shape the query never names.
 */
import type { DrawingCheck } from '../../../core/ports.ts';
import { parseScene } from '../../scene/index.ts';

export const sceneDrawingCheck: DrawingCheck = {
  unasked(query, interpretation) {
    const asked = new Set(parseScene(query).objects.map((o) => o.shape));
    return parseScene(interpretation)
      .objects.filter((o) => o.shape && !asked.has(o.shape))
      .map((o) => ['a', o.colour, o.shape].filter(Boolean).join(' '));
  },
};
