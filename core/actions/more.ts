import { refuse, type ThreadHandler } from './context.ts';
import { namedMatch, openRound } from './guards.ts';

/** "More like n": a new round from the same picture, pulled towards match n (no new drawing). */
export const more: ThreadHandler = {
  scope: 'thread',
  startsRound: true,
  async run(ctx, state, { ref, action, sink }) {
    const round = openRound(state, ref);
    if (typeof round === 'string') return refuse(sink, round);
    const match = namedMatch(ref, round);
    if (typeof match === 'string') return refuse(sink, match);
    round.feedback.push({ kind: 'more-like', assetIds: [match.assetId], at: ctx.now() });
    await sink.progress?.(`Looking for more like #${match.n}…`);
    return ctx.newRound(state, sink, {
      cause: 'more-like',
      userText: `/more ${match.n}`,
      userId: action.userId,
      query: round.query,
      notes: [],
      visual: { kind: 'reuse', from: round },
    });
  },
};
