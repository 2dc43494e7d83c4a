import { refuse } from './context.ts';
import { namedMatch, openRound, roundAction } from './guards.ts';

/** "More like n": a new round from the same picture, pulled towards match n (no new drawing). */
export const more = roundAction(
  openRound,
  async (ctx, state, round, { ref, action, sink }) => {
    const match = namedMatch(ref, round);
    if (typeof match === 'string') return refuse(sink, match);
    round.feedback.push({ kind: 'more-like', assetIds: [match.assetId], at: ctx.now() });
    await sink.progress?.(`Looking for more like #${match.n}…`);
    return ctx.sameQueryRound(state, sink, round, {
      cause: 'more-like',
      userText: `/more ${match.n}`,
      userId: action.userId,
      visual: { kind: 'reuse', from: round },
    });
  },
  { startsRound: true },
);
