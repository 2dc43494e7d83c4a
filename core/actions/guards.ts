/** Checks that several actions share; each returns what to refuse with, or what the action acts on. */
import { type ActionRef, LATEST } from '../action-id.ts';
import type { Round, ThreadState } from '../types.ts';
import { type ActionContext, type ActionInput, type Outcome, refuse, type ThreadHandler } from './context.ts';

type RoundGuard = (state: ThreadState, ref: ActionRef) => Round | string;

/** An action on one round of the search: refused privately when `guard` says why it cannot apply. */
export function roundAction(
  guard: RoundGuard,
  run: (
    ctx: ActionContext,
    state: ThreadState,
    round: Round,
    input: ActionInput,
  ) => Outcome | Promise<Outcome>,
  options: { startsRound?: true } = {},
): ThreadHandler {
  return {
    scope: 'thread',
    ...options,
    run(ctx, state, input) {
      const round = guard(state, input.ref);
      return typeof round === 'string' ? refuse(input.sink, round) : run(ctx, state, round, input);
    },
  };
}

/** The latest round, when the action is about it (a typed command, or a button of that round). */
export const currentRound: RoundGuard = (state, ref) => {
  const latest = state.rounds.at(-1);
  if (!latest) return 'There is no search in this thread yet. Describe the image you remember to start one.';
  if (ref.roundId !== LATEST && ref.roundId !== latest.id) {
    const stale = state.rounds.find((r) => r.id === ref.roundId);
    return `That button belongs to ${stale ? `round ${stale.index + 1}` : 'an earlier search'}, which is no longer current; use the buttons of round ${latest.index + 1}.`;
  }
  return latest;
};

/** The current round of a search still open (no match picked yet). */
export const openRound: RoundGuard = (state, ref) => {
  const latest = currentRound(state, ref);
  if (typeof latest === 'string' || state.status !== 'found') return latest;
  return `This search is finished: you picked a match in round ${latest.index + 1}. Send a correction to keep searching, or start a new search.`;
};

/** The match an action names ("/pick 3"), 1-based, with its asset. */
export function namedMatch(ref: ActionRef, round: Round): { n: number; assetId: string } | string {
  const n = Number(ref.arg);
  const count = round.matches.length;
  if (!ref.arg) return `Say which match: a number from 1 to ${count}, e.g. /${ref.action} 3.`;
  if (!Number.isInteger(n) || n < 1 || n > count) {
    return `There is no match #${ref.arg} in round ${round.index + 1}; pick a number from 1 to ${count}.`;
  }
  return { n, assetId: (round.matches[n - 1] as { assetId: string }).assetId };
}
