import { answer } from './context.ts';
import { currentRound, roundAction } from './guards.ts';

export const CANNOT_REDRAW =
  'This search uses your picture, and I cannot redraw a photo. Describe what to change in words, or use More like / Not these on the matches.';

/**
 * "Regenerate": the same description drawn again with another seed (reopens a finished search).
 * A search whose picture is an upload has no drawing to redo: it says so and changes nothing.
 */
export const regen = roundAction(
  currentRound,
  async (ctx, state, round, { action, sink }) => {
    const picture = state.rounds.findLast((r) => r.generated)?.generated;
    if (picture?.generatorId === 'upload') return answer(sink, CANNOT_REDRAW);
    if (state.status === 'found') ctx.reopen(state);
    await sink.progress?.('Drawing it again…');
    return ctx.sameQueryRound(state, sink, round, {
      cause: 'regenerate',
      userText: '/regen',
      userId: action.userId,
      visual: {
        kind: 'generate',
        seed: ctx.seedFor(state, `${round.query}#${round.generated?.seed ?? 0}`),
      },
    });
  },
  { startsRound: true },
);
