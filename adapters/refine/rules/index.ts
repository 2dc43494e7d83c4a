import type { QueryRefiner, RefineInput, RefineResult } from '../../../core/ports.ts';
import { captionScene, parseScene } from '../../scene/index.ts';
import { applyMessage } from './edit.ts';
import { type EditState, stateFrom } from './state.ts';

const RESTART =
  /\b(?:start(?:ing)? (?:over|again|afresh)|new (?:search|image|picture)|forget (?:that|it|this|everything|all (?:of )?that|about it)|from scratch|scratch that|restart|reset)\b/i;
const LEADING_FILLER =
  /^(?:[\s,.;:!?-]|\b(?:ok(?:ay)?|so|let'?s|please|alright|now|actually|hmm+|wait|no|nope|and|with)\b)+/i;

/**
 * The offline refiner: merges the previous query and a correction into one scene caption by
 * rules ("it's blue", "make it bigger", "no triangle", "not a star, a heart", "also a green
 * square"). Words outside the scene vocabulary are dropped.
 */
export class RuleRefiner implements QueryRefiner {
  readonly id = 'rules';

  async refine(input: RefineInput, signal?: AbortSignal): Promise<RefineResult> {
    signal?.throwIfAborted();
    const restart = RESTART.exec(input.message);
    if (restart) {
      const rest = `${input.message.slice(0, restart.index)} ${input.message.slice(restart.index + restart[0].length)}`;
      const cleaned = rest.replace(LEADING_FILLER, '').trim();
      return { query: captionScene(parseScene(cleaned)) || cleaned, intent: 'restart' };
    }
    const state = input.previous?.trim() ? stateBefore(input) : undefined;
    const merged = captionScene(state ? merge(state, input.message) : parseScene(input.message));
    const query =
      merged ||
      [input.previous, input.message]
        .map((t) => t?.trim())
        .filter(Boolean)
        .join(', ');
    const result: RefineResult = { query, intent: 'refine' };
    if (state && state.notes.length > 0) result.note = state.notes.join(' ');
    return result;
  }
}

/**
 * The scene before this message. Replaying the last round's message tells which object it was
 * about ("it" in the next message); a plain re-parse of the previous query only knows the order.
 */
function stateBefore(input: RefineInput): EditState {
  const previous = input.previous ?? '';
  const last = input.history.at(-1);
  if (last) {
    const before = input.history.at(-2)?.query;
    const replayed = before?.trim() ? merge(stateFrom(parseScene(before)), last.userText) : undefined;
    if (replayed && captionScene(replayed) === previous) return { ...replayed, notes: [] };
  }
  return stateFrom(parseScene(previous));
}

function merge(state: EditState, message: string): EditState {
  applyMessage(state, message);
  return state;
}
