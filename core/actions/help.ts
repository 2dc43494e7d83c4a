import { answer, type ThreadHandler } from './context.ts';

/** The help text, with the admin commands for admins. */
export const help: ThreadHandler = {
  scope: 'thread',
  run(ctx, _state, { action, sink }) {
    return answer(sink, ctx.deps.commands.help({ admin: ctx.options.isAdmin(action.userId) }));
  },
};
