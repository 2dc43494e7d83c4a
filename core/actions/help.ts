import { answer, type ThreadHandler } from './context.ts';

/** The help text, with the admin commands for admins. */
export const help: ThreadHandler = {
  scope: 'thread',
  async run(ctx, state, { action, sink }) {
    return answer(sink, ctx.deps.commands.help({ admin: await ctx.isAdmin(state.key, action) }));
  },
};
