import type { QueryRefiner, RefineInput, RefineResult } from '../../../core/ports.ts';
import { captionScene, parseScene } from '../../scene/index.ts';
import { applyMessage } from './edit.ts';
import { type EditState, stateFrom } from './state.ts';
import { EXAMPLES, understand } from './understood.ts';

const RESTART =
  /\b(?:start(?:ing)? (?:over|again|afresh)|new (?:search|image|picture)|forget (?:that|it|this|everything|all (?:of )?that|about it)|from scratch|scratch that|restart|reset)\b/i;
const LEADING_FILLER =
  /^(?:[\s,.;:!?-]|\b(?:ok(?:ay)?|so|let'?s|please|alright|now|actually|hmm+|wait|no|nope|and|with)\b)+/i;

/**
 * The offline refiner: merges the previous query and a correction into one scene caption by
 * rules ("it's blue", "make it bigger", "no triangle", "not a star, a heart", "also a green
 * square"). Words outside the scene vocabulary are dropped. A message with nothing it recognises
 * comes back `understood: false` (./understood.ts).
 */
export class RuleRefiner implements QueryRefiner {
  readonly id = 'rules';

  /** `freeText`: the generator draws any description (not only the sketch vocabulary). */
  constructor(private readonly options: { freeText?: boolean } = {}) {}

  async refine(input: RefineInput, signal?: AbortSignal): Promise<RefineResult> {
    signal?.throwIfAborted();
    const restart = RESTART.exec(input.message);
    const rest = restart
      ? `${input.message.slice(0, restart.index)} ${input.message.slice(restart.index + restart[0].length)}`
      : input.message;
    const said = restart ? rest.replace(LEADING_FILLER, '').trim() : rest.trim();
    if (said) {
      const correcting = !restart && Boolean(input.previous?.trim());
      const judged = understand(said, this.options.freeText ?? false, correcting);
      if (!judged.understood) {
        return {
          query: input.previous ?? '',
          understood: false,
          ...(judged.unrecognised ? { unrecognised: judged.unrecognised } : {}),
          examples: EXAMPLES,
        };
      }
    }
    if (restart) {
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
