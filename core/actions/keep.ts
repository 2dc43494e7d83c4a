import { answer, type ThreadHandler } from './context.ts';

/** "Keep this search for research": the person's consent; the rounds so far are recorded at once. */
export const keep: ThreadHandler = {
  scope: 'thread',
  run(ctx, state, { action, sink }) {
    const info = (text: string) => answer(sink, text, { ephemeral: true });
    if (ctx.options.transcripts === 'off')
      return info('Transcripts are not collected on this server; nothing is kept.');
    if (ctx.options.transcripts === 'on' || state.consent)
      return info('This search is already kept for research.');
    if (state.rounds.length === 0) return info('There is no search in this thread yet.');
    state.consent = { userId: action.userId, at: ctx.now() };
    return {
      state,
      after: async (saved) => {
        for (const round of saved.rounds) await ctx.record(saved, round);
        await sink.send({
          kind: 'notice',
          level: 'info',
          text: 'Thank you: the rounds of this search will be kept for research, pseudonymized. /forget deletes them.',
        });
      },
    };
  },
};
