import { type ActionRef, decodeActionId } from './action-id.ts';
import { ActionContext, type Outcome } from './actions/context.ts';
import { ACTION_HANDLERS } from './actions/index.ts';
import { answerMessages } from './actions/message.ts';
import { BoundedSet } from './bounded.ts';
import { DEFAULT_ENGINE_OPTIONS, type EngineDeps, type EngineOptions } from './engine-options.ts';
import { describeError, errorText } from './error-text.ts';
import { CodedError, errorMessage, SupersededError, UserFacingError } from './errors.ts';
import type { ChatEngine } from './ports.ts';
import { SlidingWindowLimiter } from './rate-limit.ts';
import { SerialQueues } from './serial-queue.ts';
import { qualifiedUserId, type TenantId, tenantOf } from './tenant.ts';
import type {
  InboundAction,
  InboundMessage,
  RoundView,
  ThreadKey,
  ThreadSink,
  ThreadState,
} from './types.ts';

export {
  type AdminTasks,
  DEFAULT_ENGINE_OPTIONS,
  type EngineDeps,
  type EngineOptions,
} from './engine-options.ts';

type WorkItem =
  | { kind: 'messages'; msgs: InboundMessage[]; sink: ThreadSink; done: (() => void)[] }
  | { kind: 'action'; action: InboundAction; ref: ActionRef; sink: ThreadSink; done: (() => void)[] };

type MessagesItem = Extract<WorkItem, { kind: 'messages' }>;

/**
 * The conversation engine: one per process, shared by every chat front end. Events of one
 * thread run in order, one at a time; messages that arrive while a round runs are merged
 * into the next round. Every event is deduplicated by its platform id. What each action does
 * is its handler's business (core/actions/); the engine orders, limits, saves and reports.
 */
export class ConversationEngine implements ChatEngine {
  readonly options: EngineOptions;
  private readonly ctx: ActionContext;
  private readonly queues: SerialQueues<WorkItem>;
  /** The running messages round of each thread, to give up when the person sends more. */
  private readonly inFlight = new Map<ThreadKey, AbortController>();
  private readonly userLimiter: SlidingWindowLimiter;
  private readonly workspaceLimiter: SlidingWindowLimiter;
  /** Threads a message was addressed to lately, in this process. */
  private readonly addressed = new BoundedSet<ThreadKey>(50_000);

  constructor(
    private readonly deps: EngineDeps,
    options: Partial<EngineOptions> = {},
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.ctx = new ActionContext(deps, this.options);
    this.queues = new SerialQueues((key, item) => this.process(key, item));
    const { now } = this.options;
    this.userLimiter = new SlidingWindowLimiter(this.options.roundsPerUserPerMinute, 60_000, now);
    this.workspaceLimiter = new SlidingWindowLimiter(this.options.roundsPerWorkspacePerMinute, 60_000, now);
  }

  /** Resolves once the message has been handled (or merged into a round that has). */
  async onMessage(msg: InboundMessage, sink: ThreadSink): Promise<void> {
    if (!(await this.deps.threads.claimOnce(`msg:${msg.eventId}`, this.options.dedupeTtlMs))) return;
    const typed = this.deps.commands.parseTyped(msg.text);
    if (typed?.kind === 'action') {
      return this.enqueueAction({ ...msg, actionId: '' }, typed.ref, sink);
    }
    if (typed?.kind === 'unknown') {
      await sink.send({
        kind: 'notice',
        level: 'warn',
        text: `Unknown command "/${typed.name}".\n${this.deps.commands.help()}`,
      });
      return;
    }
    const normalized = typed?.kind === 'find' ? { ...msg, text: typed.text, startsSearch: true } : msg;
    return new Promise((resolve) => {
      const last = this.queues.pending(msg.key).at(-1);
      if (last?.kind === 'messages' && !normalized.startsSearch) {
        last.msgs.push(normalized);
        last.sink = sink;
        last.done.push(resolve);
      } else {
        this.queues.enqueue(msg.key, { kind: 'messages', msgs: [normalized], sink, done: [resolve] });
      }
      this.supersedeRunningRound(msg.key);
    });
  }

  /**
   * When the next thing queued in a thread is more words from the person, the round still being
   * drawn is already out of date: give it up (cancelling the generation) and let its words join
   * the next round, which then answers everything at once.
   */
  private supersedeRunningRound(key: ThreadKey): void {
    const pending = this.queues.pending(key);
    const next = pending[0];
    if (pending.length === 1 && next?.kind === 'messages' && !next.msgs.some((m) => m.startsSearch)) {
      this.inFlight.get(key)?.abort(new SupersededError());
    }
  }

  /** Puts a given-up round's messages in front of the ones that superseded it. */
  private requeue(key: ThreadKey, item: MessagesItem): void {
    const next = this.queues.pending(key)[0];
    if (next?.kind !== 'messages') throw new Error('a superseded round must be followed by messages');
    next.msgs.unshift(...item.msgs);
    next.done.unshift(...item.done);
  }

  async onAction(action: InboundAction, sink: ThreadSink): Promise<void> {
    if (!(await this.deps.threads.claimOnce(`act:${action.eventId}`, this.options.dedupeTtlMs))) return;
    const ref = decodeActionId(action.actionId);
    if (!ref) {
      await sink.send({ kind: 'notice', level: 'warn', text: 'I do not know that button.', ephemeral: true });
      return;
    }
    return this.enqueueAction(action, ref, sink);
  }

  /** Resolves when every queued event has been handled. */
  idle(): Promise<void> {
    return this.queues.idle();
  }

  get settings(): ChatEngine['settings'] {
    const { maxMessageChars, topK, transcripts } = this.options;
    return { maxMessageChars, topK, transcripts };
  }

  async isForUs(key: ThreadKey, addressed: boolean): Promise<boolean> {
    if (addressed) {
      // Covers the moments before the thread's first round is saved (e.g. while its upload downloads).
      this.addressed.add(key);
      return true;
    }
    return this.addressed.has(key) || this.queues.busy(key) || (await this.deps.threads.load(key)) !== null;
  }

  thread(key: ThreadKey): Promise<ThreadState | null> {
    return this.deps.threads.load(key);
  }

  async threads(prefix: string, limit: number): Promise<ThreadState[]> {
    const keys = await this.deps.threads.listKeys(prefix, limit);
    const states = await Promise.all(keys.map((k) => this.deps.threads.load(k)));
    return states.filter((s): s is ThreadState => s !== null);
  }

  async roundView(key: ThreadKey, roundId: string): Promise<RoundView | null> {
    const state = await this.deps.threads.load(key);
    const round = state?.rounds.find((r) => r.id === roundId);
    return state && round ? this.ctx.roundView(state, round) : null;
  }

  async openThread(key: ThreadKey, ownerId?: string): Promise<ThreadState> {
    const state = { ...this.emptyState(key), ...(ownerId ? { ownerId } : {}) };
    if (!(await this.deps.threads.save(state, 0))) {
      throw new CodedError('thread-exists', `thread ${key} already exists`);
    }
    return { ...state, version: 1 };
  }

  /** Deletes every search the person started in the tenant and every transcript record of theirs there. */
  forgetUser(userId: string, tenant: TenantId): Promise<{ threads: number; records: number }> {
    return this.ctx.forgetUser(userId, tenant);
  }

  /** Deletes everything a tenant left behind (threads, transcripts, round images). */
  forgetTenant(tenant: TenantId): Promise<{ threads: number; records: number }> {
    return this.ctx.forgetTenant(tenant);
  }

  /** Deletes a thread, its transcript records and its round images; returns how many records went. */
  forgetThread(key: ThreadKey): Promise<number> {
    return this.ctx.forgetThread(key);
  }

  private enqueueAction(action: InboundAction, ref: ActionRef, sink: ThreadSink): Promise<void> {
    return new Promise((resolve) => {
      this.queues.enqueue(action.key, { kind: 'action', action, ref, sink, done: [resolve] });
    });
  }

  private async process(key: ThreadKey, item: WorkItem): Promise<void> {
    const cancel = new AbortController();
    const sink = deliveryChecked(item.sink);
    let superseded = false;
    try {
      if (item.kind === 'action') {
        const handler = ACTION_HANDLERS[item.ref.action];
        const input = { ...item, sink };
        if (handler.scope === 'outside') return await handler.run(this.ctx, key, input);
        if (handler.startsRound) this.checkRate(key, item.action.userId);
        await this.withCas(key, (state) => handler.run(this.ctx, state, input));
      } else {
        await this.waitForRate(key, item, sink);
        this.inFlight.set(key, cancel);
        await this.withCas(key, (state) => answerMessages(this.ctx, state, item.msgs, sink, cancel.signal));
      }
    } catch (err) {
      superseded = err instanceof SupersededError && item.kind === 'messages';
      if (superseded) this.requeue(key, item as MessagesItem);
      else await this.report(key, item.sink, err);
    } finally {
      this.inFlight.delete(key);
      if (!superseded) for (const done of item.done) done();
    }
  }

  tooFast(key: ThreadKey, userId: string): string | null {
    const { user, workspace } = rateKeys(key, userId);
    const wait = Math.max(this.userLimiter.wait(user), this.workspaceLimiter.wait(workspace));
    return wait > 0 ? errorText('rate-limited', { seconds: Math.ceil(wait / 1000) }) : null;
  }

  /** Takes a round from the person's and the workspace's allowance; the ms to wait when there is none. */
  private takeRate(key: ThreadKey, userId: string): number {
    const { user, workspace } = rateKeys(key, userId);
    return this.userLimiter.take(user) || this.workspaceLimiter.take(workspace);
  }

  /** Throws a "slow down" answer when the person or their workspace starts rounds too fast. */
  private checkRate(key: ThreadKey, userId: string): void {
    const wait = this.takeRate(key, userId);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new UserFacingError('rate-limited', errorText('rate-limited', { seconds }));
    }
  }

  /**
   * Messages over the rate limits are kept, not dropped: the thread waits (saying so once), and
   * what the person sends meanwhile joins the same round.
   */
  private async waitForRate(key: ThreadKey, item: MessagesItem, sink: ThreadSink): Promise<void> {
    let told = false;
    for (;;) {
      const wait = this.takeRate(key, (item.msgs.at(-1) as InboundMessage).userId);
      if (wait === 0) return;
      if (!told) {
        told = true;
        const seconds = Math.ceil(wait / 1000);
        await sink.send({ kind: 'notice', level: 'warn', text: errorText('rate-deferred', { seconds }) });
      }
      await this.options.sleep(wait);
      const pending = this.queues.pending(key);
      while (pending[0]?.kind === 'messages' && !pending[0].msgs.some((m) => m.startsSearch)) {
        const next = pending.shift() as MessagesItem;
        item.msgs.push(...next.msgs);
        item.done.push(...next.done);
      }
    }
  }

  /** Load, decide, save with compare-and-set; on a conflict (another instance wrote) decide again once. */
  private async withCas(
    key: ThreadKey,
    decide: (state: ThreadState) => Outcome | Promise<Outcome>,
  ): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const loaded = (await this.deps.threads.load(key)) ?? this.emptyState(key);
      const outcome = await decide(structuredClone(loaded));
      if (!outcome.state) return outcome.after(loaded, 0);
      const t0 = performance.now();
      if (await this.deps.threads.save(outcome.state, loaded.version)) {
        return outcome.after(outcome.state, performance.now() - t0);
      }
      this.deps.logger.warn({ key, attempt }, 'thread changed concurrently; retrying');
    }
    throw new UserFacingError('thread-conflict', errorText('thread-conflict'));
  }

  private emptyState(key: ThreadKey): ThreadState {
    const now = this.options.now();
    return { key, status: 'active', rounds: [], version: 0, createdAt: now, updatedAt: now };
  }

  /** Tells the person what failed in the table's words; the log gets the whole error. */
  private async report(key: ThreadKey, sink: ThreadSink, err: unknown): Promise<void> {
    const { code, text } = describeError(err);
    if (!(err instanceof UserFacingError)) this.deps.logger.error({ key, code, err }, 'event failed');
    else if (err.cause !== undefined) this.deps.logger.warn({ key, code, err }, 'event failed');
    try {
      await sink.send({ kind: 'notice', level: 'error', text });
    } catch (sendErr) {
      this.deps.logger.error({ key, err: sendErr }, 'could not deliver an error notice');
    }
  }
}

/** A person's allowance is theirs in one tenant; the workspace allowance is the tenant's. */
function rateKeys(key: ThreadKey, userId: string): { user: string; workspace: string } {
  return { user: qualifiedUserId(key, userId), workspace: tenantOf(key) };
}

/**
 * The thread's sink, with a post the platform refuses (a missing permission or scope) reported to
 * people in the platform's words, so whoever runs the bot learns what to fix.
 */
function deliveryChecked(sink: ThreadSink): ThreadSink {
  const checked: ThreadSink = {
    send: async (reply) => {
      try {
        await sink.send(reply);
      } catch (err) {
        const reason = errorMessage(err);
        throw new UserFacingError('delivery-failed', errorText('delivery-failed', { reason }), {
          cause: err,
        });
      }
    },
  };
  if (sink.progress) checked.progress = (text) => sink.progress?.(text);
  return checked;
}
