import { tenantOf } from '../tenant.ts';
import { type OutsideHandler, tellPrivately } from './context.ts';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * "/forget": the person's own data in this tenant; the tenant's admins also "/forget thread" and
 * "/forget user <id>" (a user of this tenant: the same id elsewhere is someone else's business).
 */
export const forget: OutsideHandler = {
  scope: 'outside',
  async run(ctx, key, { ref, action, sink }) {
    const [scope, ...rest] = (ref.arg ?? '').split(/\s+/).filter(Boolean);
    const tenant = tenantOf(key);
    if (scope && !(await ctx.isAdmin(key, action)))
      return tellPrivately(
        sink,
        'Only admins can forget other people or threads. /forget alone deletes your own data.',
        'warn',
      );
    if (scope === 'thread') {
      const records = await ctx.forgetThread(key);
      return tellPrivately(
        sink,
        `Deleted this thread's search and its ${plural(records, 'transcript record')}.`,
      );
    }
    if (scope === 'user' && rest[0]) {
      const { threads, records } = await ctx.forgetUser(rest[0], tenant);
      return tellPrivately(
        sink,
        `Deleted ${plural(threads, 'search', 'searches')} and ${plural(records, 'transcript record')} of user ${rest[0]}.`,
      );
    }
    if (scope) return tellPrivately(sink, 'Use /forget, /forget thread, or /forget user <id>.', 'warn');
    const { threads, records } = await ctx.forgetUser(action.userId, tenant);
    return tellPrivately(
      sink,
      `Deleted ${plural(threads, 'search', 'searches')} and ${plural(records, 'transcript record')} of yours. Nothing of yours is kept.`,
    );
  },
};
