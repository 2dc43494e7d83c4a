import { currentRound, roundAction } from './guards.ts';

/** "Regenerate": the same description drawn again with another seed (reopens a finished search). */
export const regen = roundAction(
  currentRound,
  async (ctx, state, round, { action, sink }) => {
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
