import { openRound, roundAction } from './guards.ts';

/** "Not these": a new round from the same picture, pushed away from every match shown. */
export const not = roundAction(
  openRound,
  async (ctx, state, round, { action, sink }) => {
    const assetIds = round.matches.map((m) => m.assetId);
    round.feedback.push({ kind: 'not-these', assetIds, at: ctx.now() });
    await sink.progress?.('Searching away from those…');
    return ctx.sameQueryRound(state, sink, round, {
      cause: 'not-these',
      userText: '/not',
      userId: action.userId,
      visual: { kind: 'reuse', from: round },
    });
  },
  { startsRound: true },
);
