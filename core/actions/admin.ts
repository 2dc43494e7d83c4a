import type { AdminTasks } from '../engine-options.ts';
import { tenantOf } from '../tenant.ts';
import { type OutsideHandler, tellPrivately } from './context.ts';

/** "/status", "/export": a server-side task the composition root provides, for the tenant's admins, about that tenant only. */
export function adminTask(name: keyof AdminTasks): OutsideHandler {
  return {
    scope: 'outside',
    async run(ctx, key, { action, sink }) {
      const task = ctx.options.admin?.[name];
      if (!(await ctx.isAdmin(key, action)))
        return tellPrivately(sink, `/${name} is for admins of this workspace only.`, 'warn');
      if (!task) return tellPrivately(sink, `/${name} is not available on this server.`, 'warn');
      return tellPrivately(sink, await task(tenantOf(key)));
    },
  };
}
