import type { AdminTasks } from '../engine-options.ts';
import { tenantOf } from '../tenant.ts';
import type { ThreadState } from '../types.ts';
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
      const said = await task(tenantOf(key));
      const state = name === 'status' ? await ctx.deps.threads.load(key) : null;
      return tellPrivately(sink, state && state.rounds.length > 0 ? `${said}\n${generatorUse(state)}` : said);
    },
  };
}

/** This thread's generator use: calls, rounds answered in words, cost and latency. */
export function generatorUse(state: ThreadState): string {
  let calls = 0;
  let cost = 0;
  let latency = 0;
  let priced = false;
  for (const r of state.rounds) {
    const g = r.generated;
    if (!g || g.generatorId === 'upload') continue;
    calls += g.calls ?? 1;
    latency += g.latencyMs ?? 0;
    if (g.costUsd !== undefined) {
      priced = true;
      cost += g.costUsd;
    }
  }
  const words = state.rounds.filter((r) => r.route?.decision === 'text').length;
  const mode = state.drawing ? ` (the person chose ${state.drawing === 'always' ? '/draw' : '/nodraw'})` : '';
  return (
    `This thread: ${state.rounds.length} rounds, ${calls} generator calls, ${words} rounds in words${mode}; ` +
    `generation ${(latency / 1000).toFixed(1)} s in all${calls ? `, ${(latency / calls / 1000).toFixed(1)} s per call` : ''}; ` +
    `cost ${priced ? `$${cost.toFixed(4)}` : 'unknown (no prices for this generator)'}.`
  );
}
