import { refuse } from './context.ts';
import { namedMatch, openRound, roundAction } from './guards.ts';

/** "That's it": match n is the image meant; the search ends and the original is posted. */
export const pick = roundAction(openRound, (ctx, state, round, { ref, action, sink }) => {
  const match = namedMatch(ref, round);
  if (typeof match === 'string') return refuse(sink, match);
  const { assetId } = match;
  round.feedback.push({ kind: 'picked', assetIds: [assetId], at: ctx.now() });
  state.status = 'found';
  state.found = { assetId, roundId: round.id, userId: action.userId };
  state.updatedAt = ctx.now();
  return {
    state,
    after: async (saved) => {
      await ctx.record(saved, round);
      await sink.send({ kind: 'found', view: await ctx.foundView(saved, round, assetId) });
    },
  };
});
