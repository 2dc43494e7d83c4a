import { refuse, type ThreadHandler } from './context.ts';
import { openRound } from './guards.ts';

/** "Not these": a new round from the same picture, pushed away from every match shown. */
export const not: ThreadHandler = {
  scope: 'thread',
  startsRound: true,
  async run(ctx, state, { ref, action, sink }) {
    const round = openRound(state, ref);
    if (typeof round === 'string') return refuse(sink, round);
    const assetIds = round.matches.map((m) => m.assetId);
    round.feedback.push({ kind: 'not-these', assetIds, at: ctx.now() });
    await sink.progress?.('Searching away from those…');
    return ctx.newRound(state, sink, {
      cause: 'not-these',
      userText: '/not',
      userId: action.userId,
      query: round.query,
      notes: [],
      visual: { kind: 'reuse', from: round },
    });
  },
};
