import { type ActionRef, decodeActionId } from './action-id.ts';
import { ActionContext, type Outcome } from './actions/context.ts';
import { ACTION_HANDLERS } from './actions/index.ts';
import { answerMessages } from './actions/message.ts';
import { BoundedSet } from './bounded.ts';
import { DEFAULT_ENGINE_OPTIONS, type EngineDeps, type EngineOptions } from './engine-options.ts';
import { describeError, errorText } from './error-text.ts';
import { CodedError, errorMessage, SupersededError, UserFacingError } from './errors.ts';
import type {
  ChatEngine,
  InboxEntry,
  MessageHooks,
  RateWindows,
  ThreadInbox,
  ThreadLease,
  ThreadLocks,
} from './ports.ts';
import { InProcessRateWindows } from './rate-limit.ts';
import { SerialQueues } from './serial-queue.ts';
import { qualifiedUserId, type TenantId, tenantOf } from './tenant.ts';
import { InProcessInbox, InProcessLocks } from './thread-locks.ts';
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

/** Local work of a thread; a messages item answers whatever its thread's inbox holds when it runs. */
type WorkItem =
  | { kind: 'messages'; startsSearch: boolean; sink: ThreadSink; done: (() => void)[] }
  | { kind: 'action'; action: InboundAction; ref: ActionRef; sink: ThreadSink; done: (() => void)[] };

type MessagesItem = Extract<WorkItem, { kind: 'messages' }>;

const MINUTE_MS = 60_000;

/**
 * The conversation engine: one per process, shared by every chat front end. Events of one
 * thread run in order, one at a time, under the thread's lock (shared by every instance on one
 * store); messages are kept in the thread's inbox until answered, and those that arrive while a
 * round runs, at any instance, are merged into the next round. Every event is deduplicated by its
 * platform id. What each action does is its handler's business (core/actions/); the engine
 * orders, limits, saves and reports.
 */
export class ConversationEngine implements ChatEngine {
  readonly options: EngineOptions;
  private readonly ctx: ActionContext;
  private readonly queues: SerialQueues<WorkItem>;
  /** The running messages round of each thread, to give up when the person sends more. */
  private readonly inFlight = new Map<ThreadKey, AbortController>();
  private readonly locks: ThreadLocks;
  private readonly inbox: ThreadInbox;
  private readonly rates: RateWindows;
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
    this.locks = deps.locks ?? new InProcessLocks();
    this.inbox = deps.inbox ?? new InProcessInbox(now);
    this.rates = deps.rates ?? new InProcessRateWindows(now);
  }

  /** Resolves once the message has been handled (or merged into a round that has). */
  async onMessage(msg: InboundMessage, sink: ThreadSink, hooks: MessageHooks = {}): Promise<void> {
    const accepted = () => hooks.accepted?.();
    if (!(await this.deps.threads.claimOnce(`msg:${msg.eventId}`, this.options.dedupeTtlMs))) return;
    const typed = this.deps.commands.parseTyped(msg.text);
    if (typed?.kind === 'action') {
      accepted();
      return this.enqueueAction({ ...msg, actionId: '' }, typed.ref, sink);
    }
    if (typed?.kind === 'unknown') {
      accepted();
      await sink.send({
        kind: 'notice',
        level: 'warn',
        text: `Unknown command "/${typed.name}".\n${this.deps.commands.help()}`,
      });
      return;
    }
    const normalized = typed?.kind === 'find' ? { ...msg, text: typed.text, startsSearch: true } : msg;
    await this.inbox.push(normalized);
    accepted();
    return this.wake(msg.key, sink, normalized.startsSearch === true);
  }

  /** Queues (or joins) the local work that answers the thread's inbox; resolves once it has run. */
  private wake(key: ThreadKey, sink: ThreadSink, startsSearch: boolean): Promise<void> {
    return new Promise((resolve) => {
      const last = this.queues.pending(key).at(-1);
      if (last?.kind === 'messages' && !startsSearch) {
        last.sink = sink;
        last.done.push(resolve);
      } else {
        this.queues.enqueue(key, { kind: 'messages', startsSearch, sink, done: [resolve] });
      }
      this.supersedeRunningRound(key);
    });
  }

  /**
   * Answers threads whose inbox has waited longer than `ageMs` (the instance that accepted those
   * messages is gone, or lost its lock): the composition root runs this now and then, with a
   * sink for any thread key from the front end that owns it. Returns how many it took up.
   */
  async adoptWaiting(
    ageMs: number,
    sinkFor: (key: ThreadKey, userId: string) => ThreadSink | null,
  ): Promise<number> {
    let adopted = 0;
    for (const key of await this.inbox.stale(ageMs, 50)) {
      if (this.queues.busy(key)) continue;
      const last = (await this.inbox.pending(key)).at(-1);
      const sink = last ? sinkFor(key, last.message.userId) : null;
      if (!sink) continue;
      adopted++;
      void this.wake(key, sink, false);
    }
    return adopted;
  }

  /**
   * When the next thing queued in a thread is more words from the person, the round still being
   * drawn is already out of date: give it up (cancelling the generation) and let its words join
   * the next round, which then answers everything at once.
   */
  private supersedeRunningRound(key: ThreadKey): void {
    const pending = this.queues.pending(key);
    const next = pending[0];
    if (pending.length === 1 && next?.kind === 'messages' && !next.startsSearch) {
      this.inFlight.get(key)?.abort(new SupersededError());
    }
  }

  /** A given-up round's words stay in the inbox; whoever waits for them now waits for the next round. */
  private requeue(key: ThreadKey, item: MessagesItem): void {
    const next = this.queues.pending(key)[0];
    if (next?.kind !== 'messages') throw new Error('a superseded round must be followed by messages');
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
    return (
      this.addressed.has(key) ||
      this.queues.busy(key) ||
      (await this.deps.threads.load(key)) !== null ||
      (await this.inbox.pending(key)).length > 0
    );
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

  async renameThread(key: ThreadKey, title: string | null): Promise<ThreadState | null> {
    // A round saving at the same moment wins the compare-and-set; the name is then set on its state.
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = await this.deps.threads.load(key);
      if (!state) return null;
      const { title: _old, ...rest } = state;
      const renamed: ThreadState = { ...rest, ...(title ? { title } : {}), updatedAt: this.options.now() };
      if (await this.deps.threads.save(renamed, state.version))
        return { ...renamed, version: state.version + 1 };
    }
    throw new CodedError('thread-conflict', `thread ${key} kept changing while it was renamed`);
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
    let lease: ThreadLease | undefined;
    try {
      lease = await this.locks.acquire(key);
      const signal = AbortSignal.any([cancel.signal, lease.lost]);
      if (item.kind === 'action') {
        const handler = ACTION_HANDLERS[item.ref.action];
        const input = { ...item, sink };
        if (handler.scope === 'outside') return await handler.run(this.ctx, key, input);
        if (handler.startsRound) await this.checkRate(key, item.action.userId);
        // A round is never drawn twice: only cheap decisions are tried again after a conflict.
        await this.withCas(key, (state) => handler.run(this.ctx, state, input), !handler.startsRound);
      } else {
        this.inFlight.set(key, cancel);
        await this.answerInbox(key, item, sink, signal);
      }
    } catch (err) {
      superseded = err instanceof SupersededError && item.kind === 'messages';
      if (superseded) this.requeue(key, item as MessagesItem);
      else await this.report(key, item.sink, lease?.lost.aborted ? storeLost(lease.lost.reason) : err);
    } finally {
      this.inFlight.delete(key);
      await lease
        ?.release()
        .catch((err: unknown) => this.deps.logger.warn({ key, err }, 'could not release the thread lock'));
      if (!superseded) for (const done of item.done) done();
    }
  }

  /**
   * One round answering the thread's inbox: the oldest unanswered messages up to the next one that
   * starts a new search. They leave the inbox once the round is saved, and the saved state names
   * them, so a crash in between answers nothing twice.
   */
  private async answerInbox(key: ThreadKey, item: MessagesItem, sink: ThreadSink, signal: AbortSignal) {
    const first = await this.batch(await this.load(key));
    if (first.length === 0) return; // another instance answered them
    await this.waitForRate(key, item, sink, (first.at(-1) as InboxEntry).message.userId);
    const loaded = await this.load(key);
    const batch = await this.batch(loaded);
    if (batch.length === 0) return;
    const seqs = batch.map((e) => e.seq);
    const msgs = batch.map((e) => e.message);
    const outcome = await answerMessages(this.ctx, structuredClone(loaded), msgs, sink, signal);
    if (outcome.state) outcome.state.inboxAnswered = seqs;
    if (!(await this.commit(loaded, outcome, () => this.inbox.consume(key, seqs)))) {
      this.deps.logger.warn({ key }, 'thread changed concurrently; its messages stay in the inbox');
      throw new UserFacingError('thread-conflict', errorText('thread-conflict-kept'));
    }
  }

  /** The next round's inbox entries; entries the saved state already answered are removed first. */
  private async batch(state: ThreadState): Promise<InboxEntry[]> {
    const answered = new Set(state.inboxAnswered ?? []);
    const entries = await this.inbox.pending(state.key);
    const done = entries.filter((e) => answered.has(e.seq)).map((e) => e.seq);
    if (done.length > 0) await this.inbox.consume(state.key, done);
    const open = entries.filter((e) => !answered.has(e.seq));
    const next = open.findIndex((e, i) => i > 0 && e.message.startsSearch);
    return next === -1 ? open : open.slice(0, next);
  }

  async tooFast(key: ThreadKey, userId: string): Promise<string | null> {
    const wait = await this.rates.check(this.rateLimits(key, userId), MINUTE_MS, false);
    return wait > 0 ? errorText('rate-limited', { seconds: Math.ceil(wait / 1000) }) : null;
  }

  /** The person's and their workspace's limits on rounds per minute. */
  private rateLimits(key: ThreadKey, userId: string) {
    const { user, workspace } = rateKeys(key, userId);
    return [
      { key: user, limit: this.options.roundsPerUserPerMinute },
      { key: workspace, limit: this.options.roundsPerWorkspacePerMinute },
    ];
  }

  /** Takes a round from the person's and the workspace's allowance; the ms to wait when there is none. */
  private takeRate(key: ThreadKey, userId: string): Promise<number> {
    return this.rates.check(this.rateLimits(key, userId), MINUTE_MS, true);
  }

  /** Throws a "slow down" answer when the person or their workspace starts rounds too fast. */
  private async checkRate(key: ThreadKey, userId: string): Promise<void> {
    const wait = await this.takeRate(key, userId);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new UserFacingError('rate-limited', errorText('rate-limited', { seconds }));
    }
  }

  /**
   * Messages over the rate limits are kept, not dropped: the thread waits (saying so once), and
   * what the person sends meanwhile joins the same round.
   */
  private async waitForRate(key: ThreadKey, item: MessagesItem, sink: ThreadSink, userId: string) {
    let told = false;
    for (;;) {
      const wait = await this.takeRate(key, userId);
      if (wait === 0) return;
      if (!told) {
        told = true;
        const seconds = Math.ceil(wait / 1000);
        await sink.send({ kind: 'notice', level: 'warn', text: errorText('rate-deferred', { seconds }) });
      }
      await this.options.sleep(wait);
      const pending = this.queues.pending(key);
      while (pending[0]?.kind === 'messages' && !pending[0].startsSearch) {
        item.done.push(...(pending.shift() as MessagesItem).done);
      }
    }
  }

  private async load(key: ThreadKey): Promise<ThreadState> {
    return (await this.deps.threads.load(key)) ?? this.emptyState(key);
  }

  /**
   * Saves an outcome with compare-and-set, then `saved` (if any), then says what it has to say.
   * False on a conflict, after removing the pictures of rounds that were not saved.
   */
  private async commit(loaded: ThreadState, outcome: Outcome, saved?: () => Promise<void>): Promise<boolean> {
    if (!outcome.state) {
      await outcome.after(loaded, 0);
      await saved?.();
      return true;
    }
    const t0 = performance.now();
    if (!(await this.deps.threads.save(outcome.state, loaded.version))) {
      await this.dropUnsavedPictures(loaded, outcome.state);
      return false;
    }
    const saveMs = performance.now() - t0;
    await saved?.();
    await outcome.after(outcome.state, saveMs);
    return true;
  }

  private async dropUnsavedPictures(loaded: ThreadState, unsaved: ThreadState): Promise<void> {
    const kept = new Set(loaded.rounds.map((r) => r.generated?.image));
    for (const round of unsaved.rounds) {
      const ref = round.generated?.image;
      if (ref && !kept.has(ref)) await this.deps.images.delete(ref);
    }
  }

  /** Load, decide, save with compare-and-set; on a conflict decide again once when `retry`. */
  private async withCas(
    key: ThreadKey,
    decide: (state: ThreadState) => Outcome | Promise<Outcome>,
    retry: boolean,
  ): Promise<void> {
    for (let attempt = 0; attempt < (retry ? 2 : 1); attempt++) {
      const loaded = await this.load(key);
      if (await this.commit(loaded, await decide(structuredClone(loaded)))) return;
      this.deps.logger.warn({ key, attempt }, 'thread changed concurrently');
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

/** A lease lost mid-round (the database went away, or the lock expired and was taken over). */
function storeLost(reason: unknown): UserFacingError {
  return new UserFacingError('store-unavailable', errorText('store-unavailable'), { cause: reason });
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
