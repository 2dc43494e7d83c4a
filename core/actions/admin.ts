import type { AdminTasks } from '../engine-options.ts';
import { type OutsideHandler, tellPrivately } from './context.ts';

/** "/status", "/export": a server-side task the composition root provides, for admins only. */
export function adminTask(name: keyof AdminTasks): OutsideHandler {
  return {
    scope: 'outside',
    async run(ctx, _key, { action, sink }) {
      const task = ctx.options.admin?.[name];
      if (!ctx.options.isAdmin(action.userId))
        return tellPrivately(sink, `/${name} is for admins of this bot only.`, 'warn');
      if (!task) return tellPrivately(sink, `/${name} is not available on this server.`, 'warn');
      return tellPrivately(sink, await task());
    },
  };
}
