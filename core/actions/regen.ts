import { refuse, type ThreadHandler } from './context.ts';
import { currentRound } from './guards.ts';

/** "Regenerate": the same description drawn again with another seed (reopens a finished search). */
export const regen: ThreadHandler = {
  scope: 'thread',
  startsRound: true,
  async run(ctx, state, { ref, action, sink }) {
    const round = currentRound(state, ref);
    if (typeof round === 'string') return refuse(sink, round);
    if (state.status === 'found') ctx.reopen(state);
    await sink.progress?.('Drawing it again…');
    return ctx.newRound(state, sink, {
      cause: 'regenerate',
      userText: '/regen',
      userId: action.userId,
      query: round.query,
      notes: [],
      visual: {
        kind: 'generate',
        seed: ctx.seedFor(state, `${round.query}#${round.generated?.seed ?? 0}`),
      },
    });
  },
};
