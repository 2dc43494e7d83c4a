import { answer, type ThreadHandler } from './context.ts';

export const STARTED_OVER = 'Started over. Describe the image you have in mind.';

/** "New search": forgets this thread's search and starts over in it. */
export const reset: ThreadHandler = {
  scope: 'thread',
  run(ctx, state, { sink }) {
    ctx.clearSearch(state);
    return { ...answer(sink, STARTED_OVER), state };
  },
};
