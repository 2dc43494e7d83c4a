/**
 * What every handler works with: the engine's deps and options, and the steps several handlers
 * share (start a round, keep transcripts, clear a search, build the views people see).
 */
import { randomBytes } from 'node:crypto';
import type { ActionRef } from '../action-id.ts';
import type { EngineDeps, EngineOptions } from '../engine-options.ts';
import { hashString } from '../random.ts';
import { type RoundRequest, RoundRunner } from '../round-runner.ts';
import { buildFoundView, buildRoundView } from '../round-view.ts';
import { qualifiedUserId, type TenantId } from '../tenant.ts';
import { toTranscriptRecord } from '../transcript.ts';
import type {
  FoundView,
  InboundAction,
  PlatformAdminCheck,
  Round,
  RoundView,
  ThreadKey,
  ThreadSink,
  ThreadState,
} from '../types.ts';

/** Outcome of handling one event: a new state to save (compare-and-set), and what to say once it is saved. */
export interface Outcome {
  state: ThreadState | null;
  after: (saved: ThreadState, saveMs: number) => Promise<void>;
}

export const NOTHING: Outcome = { state: null, after: async () => {} };

/** Nothing to save; `text` is said once that stands. */
export function answer(
  sink: ThreadSink,
  text: string,
  options: { level?: 'info' | 'warn'; ephemeral?: boolean } = {},
): Outcome {
  const { level = 'info', ephemeral } = options;
  return {
    state: null,
    after: () => sink.send({ kind: 'notice', level, text, ...(ephemeral ? { ephemeral } : {}) }),
  };
}

/** A button or command that cannot apply now: a private warning, nothing saved. */
export const refuse = (sink: ThreadSink, text: string): Outcome =>
  answer(sink, text, { level: 'warn', ephemeral: true });

/** A private notice, sent at once (handlers outside a thread answer without saving anything). */
export const tellPrivately = (
  sink: ThreadSink,
  text: string,
  level: 'info' | 'warn' = 'info',
): Promise<void> => sink.send({ kind: 'notice', level, text, ephemeral: true });

/** One action as the engine hands it to its handler. */
export interface ActionInput {
  action: InboundAction;
  ref: ActionRef;
  sink: ThreadSink;
}

/** An action on the thread's search: it decides the new state and what to say once it is saved. */
export interface ThreadHandler {
  scope: 'thread';
  /** Starts a round (rate-limited like a message). */
  startsRound?: true;
  run(ctx: ActionContext, state: ThreadState, input: ActionInput): Outcome | Promise<Outcome>;
}

/** An action about the person or the server, not a thread's search: it works anywhere and answers itself. */
export interface OutsideHandler {
  scope: 'outside';
  run(ctx: ActionContext, key: ThreadKey, input: ActionInput): Promise<void>;
}

export type Handler = ThreadHandler | OutsideHandler;

export class ActionContext {
  readonly runner: RoundRunner;

  constructor(
    readonly deps: EngineDeps,
    readonly options: EngineOptions,
  ) {
    this.runner = new RoundRunner(deps, options);
  }

  now(): number {
    return this.options.now();
  }

  /** Runs a round, adds it to the thread, and once saved records it and sends its view. */
  async newRound(
    state: ThreadState,
    sink: ThreadSink,
    req: Omit<RoundRequest, 'id' | 'now'>,
  ): Promise<Outcome> {
    const round = await this.runner.run(state, { ...req, id: newRoundId(), now: this.now() });
    state.rounds.push(round);
    state.ownerId ??= req.userId;
    state.updatedAt = this.now();
    return {
      state,
      after: async (saved, saveMs) => {
        const t0 = performance.now();
        const previous = saved.rounds.at(-2);
        if (previous && previous.feedback.length > 0) await this.record(saved, previous);
        await this.record(saved, round);
        const t1 = performance.now();
        const view = await this.roundView(saved, round);
        const timings = {
          ...round.timings,
          persist: ms(saveMs + t1 - t0),
          render: ms(performance.now() - t1),
        };
        await sink.send({ kind: 'round', view });
        this.deps.logger.info({ key: saved.key, round: round.index + 1, timings }, 'round sent');
        this.options.onRoundTimings?.(round, timings);
      },
    };
  }

  /** A round on the same description as `from`: more like one, not these, drawn again. */
  sameQueryRound(
    state: ThreadState,
    sink: ThreadSink,
    from: Round,
    req: Pick<RoundRequest, 'cause' | 'userText' | 'userId' | 'visual'>,
  ): Promise<Outcome> {
    return this.newRound(state, sink, { ...req, query: from.query, notes: [] });
  }

  /** Keeps the round as a transcript record when the policy (and the person's consent) allows. */
  async record(state: ThreadState, round: Round): Promise<void> {
    const policy = this.options.transcripts;
    if (policy === 'off' || (policy === 'opt-in' && !state.consent)) return;
    await this.deps.transcripts.put(toTranscriptRecord(state, round, this.options.hashUser));
  }

  clearSearch(state: ThreadState): void {
    state.rounds = [];
    state.status = 'active';
    delete state.found;
    delete state.consent;
    delete state.ownerId;
    state.updatedAt = this.now();
  }

  /** A search the person corrects after picking a match is open again. */
  reopen(state: ThreadState): void {
    state.status = 'active';
    delete state.found;
  }

  seedFor(state: ThreadState, salt: string): number {
    return hashString(`${state.key}|${state.rounds.length}|${salt}`);
  }

  roundView(state: ThreadState, round: Round): Promise<RoundView> {
    return buildRoundView(state, round, this.deps, this.options.transcripts);
  }

  async foundView(state: ThreadState, round: Round, assetId: string): Promise<FoundView> {
    const gallery = (await this.deps.galleries.forThread(state.key))?.gallery ?? null;
    return buildFoundView(state, round, assetId, gallery);
  }

  /** Deletes every search the person started in the tenant and every transcript record of theirs there. */
  async forgetUser(userId: string, tenant: TenantId): Promise<{ threads: number; records: number }> {
    const keys = await this.deps.threads.forgetOwner(userId, tenant);
    let records = await this.deps.transcripts.removeUser(this.options.hashUser(userId), tenant);
    for (const key of keys) {
      records += await this.deps.transcripts.removeThread(key);
      await this.deps.images.deleteThread(key);
    }
    this.deps.logger.info({ tenant, threads: keys.length, records }, 'forgot a user');
    return { threads: keys.length, records };
  }

  /** Deletes every thread, transcript record and round image of a tenant (after its grace period). */
  async forgetTenant(tenant: TenantId): Promise<{ threads: number; records: number }> {
    const keys = await this.deps.threads.forgetTenant(tenant);
    const records = await this.deps.transcripts.removeTenant(tenant);
    for (const key of keys) await this.deps.images.deleteThread(key);
    this.deps.logger.info({ tenant, threads: keys.length, records }, 'forgot a tenant');
    return { threads: keys.length, records };
  }

  /** Whether the person may use the admin commands in this thread's tenant (and only there). */
  async isAdmin(
    key: ThreadKey,
    who: { userId: string; platformAdmin?: PlatformAdminCheck },
  ): Promise<boolean> {
    if (this.options.isAdmin(qualifiedUserId(key, who.userId))) return true;
    return (await who.platformAdmin?.()) ?? false;
  }

  async forgetThread(key: ThreadKey): Promise<number> {
    await this.deps.threads.delete(key);
    const records = await this.deps.transcripts.removeThread(key);
    await this.deps.images.deleteThread(key);
    return records;
  }
}

export const ms = (x: number) => Math.round(x * 100) / 100;

function newRoundId(): string {
  return randomBytes(6).toString('base64url');
}
