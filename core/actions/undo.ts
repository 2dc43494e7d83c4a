import { currentRound, roundAction } from './guards.ts';

/** "Undo": drops the last round (and its transcript record) and shows the one before again. */
export const undo = roundAction(currentRound, (ctx, state, dropped, { sink }) => {
  state.rounds.pop();
  const latest = state.rounds.at(-1);
  ctx.reopen(state);
  // The feedback that led to the dropped round goes with it.
  if (latest) latest.feedback = [];
  state.updatedAt = ctx.now();
  return {
    state,
    after: async (saved) => {
      await ctx.deps.transcripts.removeRound(saved.key, dropped.id);
      if (!latest) {
        await sink.send({
          kind: 'notice',
          level: 'info',
          text: 'Removed round 1. Describe the image to start again.',
        });
        return;
      }
      await sink.send({
        kind: 'notice',
        level: 'info',
        text: `Removed round ${dropped.index + 1}; back at round ${latest.index + 1}.`,
      });
      await sink.send({ kind: 'round', view: await ctx.roundView(saved, latest) });
    },
  };
});
