/**
 * "/draw" and "/nodraw": the person overrides the router for this thread. /draw turns pictures on
 * (and draws the current description at once when the latest round had none); "/draw auto" hands
 * the choice back to the router; /nodraw answers with words and matches until /draw.
 */
import { answer, type ThreadHandler } from './context.ts';

export const draw: ThreadHandler = {
  scope: 'thread',
  startsRound: true,
  async run(ctx, state, { ref, action, sink }) {
    if (ref.arg?.toLowerCase() === 'auto') {
      delete state.drawing;
      return { ...answer(sink, 'I decide again which rounds to draw.', { ephemeral: true }), state };
    }
    state.drawing = 'always';
    const latest = state.rounds.at(-1);
    if (latest?.route?.decision !== 'text')
      return {
        ...answer(sink, 'Pictures on: I will draw every round of this search (/draw auto: I decide).', {
          ephemeral: true,
        }),
        state,
      };
    if (state.status === 'found') ctx.reopen(state);
    await sink.progress?.('Drawing what I understood…');
    return ctx.sameQueryRound(state, sink, latest, {
      cause: 'regenerate',
      userText: '/draw',
      userId: action.userId,
      visual: { kind: 'generate', seed: ctx.seedFor(state, latest.query), route: true },
    });
  },
};

export const nodraw: ThreadHandler = {
  scope: 'thread',
  run(_ctx, state, { sink }) {
    state.drawing = 'never';
    return {
      ...answer(
        sink,
        'Pictures off: I will answer with my reading of your words and the matches (/draw turns pictures back on).',
        { ephemeral: true },
      ),
      state,
    };
  },
};
