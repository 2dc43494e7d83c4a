import { randomBytes } from 'node:crypto';
import {
  type ActionRef,
  decodeActionId,
  helpText,
  isThreadless,
  LATEST,
  parseTypedCommand,
} from '../commands/index.ts';
import { BoundedSet } from './bounded.ts';
import type { TranscriptPolicy } from './consent.ts';
import { errorMessage, SupersededError, UserFacingError } from './errors.ts';
import { uploadToPng } from './image-input.ts';
import type { ChatEngine, ThreadStore, TranscriptStore } from './ports.ts';
import { hashString } from './random.ts';
import { DEFAULT_RANKING, type RankingOptions } from './ranking.ts';
import { SlidingWindowLimiter } from './rate-limit.ts';
import { type RoundRequest, RoundRunner, type RunnerDeps, type Visual } from './round-runner.ts';
import { buildFoundView, buildRoundView } from './round-view.ts';
import { SerialQueues } from './serial-queue.ts';
import { decodeThreadKey } from './thread-key.ts';
import { toTranscriptRecord } from './transcript.ts';
import type { InboundAction, InboundMessage, Round, ThreadKey, ThreadSink, ThreadState } from './types.ts';

export interface EngineDeps extends RunnerDeps {
  threads: ThreadStore;
  transcripts: TranscriptStore;
}

/** Server-side tasks behind the admin commands; the composition root provides them. */
export interface AdminTasks {
  status(): Promise<string>;
  export(): Promise<string>;
}

export interface EngineOptions {
  topK: number;
  ranking: RankingOptions;
  maxMessageChars: number;
  dedupeTtlMs: number;
  refineTimeoutMs: number;
  generateTimeoutMs: number;
  /** Salted one-way hash of user ids for transcripts. */
  hashUser: (userId: string) => string;
  now: () => number;
  /** Rounds a person may start per minute, and all people of one workspace together (0 = no limit). */
  roundsPerUserPerMinute: number;
  roundsPerWorkspacePerMinute: number;
  /** Whether rounds are kept as research transcripts: never, after the person agrees, or always. */
  transcripts: TranscriptPolicy;
  isAdmin: (userId: string) => boolean;
  admin?: AdminTasks;
  /** Called with every round's stage timings (ms) once it has been sent. */
  onRoundTimings?: (round: Round, timings: Record<string, number>) => void;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  topK: 10,
  ranking: DEFAULT_RANKING,
  maxMessageChars: 2000,
  dedupeTtlMs: 24 * 60 * 60 * 1000,
  refineTimeoutMs: 30_000,
  generateTimeoutMs: 120_000,
  hashUser: (id) => hashString(`genir:${id}`).toString(36),
  now: () => Date.now(),
  roundsPerUserPerMinute: 20,
  roundsPerWorkspacePerMinute: 120,
  transcripts: 'opt-in',
  isAdmin: () => false,
};

const ROUND_ACTIONS = new Set(['more', 'not', 'regen']);

type WorkItem =
  | { kind: 'messages'; msgs: InboundMessage[]; sink: ThreadSink; done: (() => void)[] }
  | { kind: 'action'; action: InboundAction; ref: ActionRef; sink: ThreadSink; done: (() => void)[] };

/** Outcome of handling one item: a new state to save (CAS), and what to say once it is saved. */
interface Outcome {
  state: ThreadState | null;
  after: (saved: ThreadState, saveMs: number) => Promise<void>;
}

const NOTHING: Outcome = { state: null, after: async () => {} };

/**
 * The conversation engine: one per process, shared by every chat front end. Events of one
 * thread run in order, one at a time; messages that arrive while a round runs are merged
 * into the next round. Every event is deduplicated by its platform id.
 */
export class ConversationEngine implements ChatEngine {
  readonly options: EngineOptions;
  private readonly runner: RoundRunner;
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
    this.runner = new RoundRunner(deps, this.options);
    this.queues = new SerialQueues((key, item) => this.process(key, item));
    const { now } = this.options;
    this.userLimiter = new SlidingWindowLimiter(this.options.roundsPerUserPerMinute, 60_000, now);
    this.workspaceLimiter = new SlidingWindowLimiter(this.options.roundsPerWorkspacePerMinute, 60_000, now);
  }

  /** Resolves once the message has been handled (or merged into a round that has). */
  async onMessage(msg: InboundMessage, sink: ThreadSink): Promise<void> {
    if (!(await this.deps.threads.claimOnce(`msg:${msg.eventId}`, this.options.dedupeTtlMs))) return;
    const typed = parseTypedCommand(msg.text);
    if (typed?.kind === 'action') {
      return this.enqueueAction({ ...msg, actionId: '' }, typed.ref, sink);
    }
    if (typed?.kind === 'unknown') {
      await sink.send({
        kind: 'notice',
        level: 'warn',
        text: `Unknown command "/${typed.name}".\n${helpText()}`,
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
  private requeue(key: ThreadKey, item: Extract<WorkItem, { kind: 'messages' }>): void {
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

  async openThread(key: ThreadKey, ownerId?: string): Promise<ThreadState> {
    const state = { ...this.emptyState(key), ...(ownerId ? { ownerId } : {}) };
    if (!(await this.deps.threads.save(state, 0))) throw new Error(`thread ${key} already exists`);
    return { ...state, version: 1 };
  }

  private enqueueAction(action: InboundAction, ref: ActionRef, sink: ThreadSink): Promise<void> {
    return new Promise((resolve) => {
      this.queues.enqueue(action.key, { kind: 'action', action, ref, sink, done: [resolve] });
    });
  }

  private async process(key: ThreadKey, item: WorkItem): Promise<void> {
    const cancel = new AbortController();
    let superseded = false;
    try {
      if (item.kind === 'action' && isThreadless(item.ref.action)) {
        await this.handleOutsideThread(key, item);
        return;
      }
      this.checkRate(key, item);
      if (item.kind === 'messages') this.inFlight.set(key, cancel);
      await this.withCas(key, (state) =>
        item.kind === 'messages'
          ? this.handleMessages(state, item.msgs, item.sink, cancel.signal)
          : this.handleAction(state, item),
      );
    } catch (err) {
      superseded = err instanceof SupersededError && item.kind === 'messages';
      if (superseded) this.requeue(key, item as Extract<WorkItem, { kind: 'messages' }>);
      else await this.report(key, item.sink, err);
    } finally {
      this.inFlight.delete(key);
      if (!superseded) for (const done of item.done) done();
    }
  }

  /** Throws a "slow down" answer when the person or their workspace starts rounds too fast. */
  private checkRate(key: ThreadKey, item: WorkItem): void {
    if (item.kind === 'action' && !ROUND_ACTIONS.has(item.ref.action)) return;
    const userId = item.kind === 'action' ? item.action.userId : (item.msgs.at(-1) as InboundMessage).userId;
    const { platform, parts } = decodeThreadKey(key);
    const workspace = `${platform}:${parts[0] ?? ''}`;
    const wait = this.userLimiter.take(`${workspace}:${userId}`) || this.workspaceLimiter.take(workspace);
    if (wait > 0) {
      throw new UserFacingError(
        `Slow down a little: too many rounds in the last minute. Try again in ${Math.ceil(wait / 1000)} s.`,
      );
    }
  }

  /** Load, decide, save with compare-and-set; on a conflict (another instance wrote) decide again once. */
  private async withCas(key: ThreadKey, decide: (state: ThreadState) => Promise<Outcome>): Promise<void> {
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
    throw new UserFacingError(
      'This thread was changed somewhere else at the same time. Please send that again.',
    );
  }

  private emptyState(key: ThreadKey): ThreadState {
    const now = this.options.now();
    return { key, status: 'active', rounds: [], version: 0, createdAt: now, updatedAt: now };
  }

  private async report(key: ThreadKey, sink: ThreadSink, err: unknown): Promise<void> {
    const text =
      err instanceof UserFacingError
        ? err.message
        : `Something went wrong on my side (${errorMessage(err).slice(0, 200)}). Your thread is safe; please try again.`;
    if (!(err instanceof UserFacingError))
      this.deps.logger.error({ key, err: errorMessage(err) }, 'event failed');
    try {
      await sink.send({ kind: 'notice', level: 'error', text });
    } catch (sendErr) {
      this.deps.logger.error({ key, err: errorMessage(sendErr) }, 'could not deliver an error notice');
    }
  }

  private async handleMessages(
    state: ThreadState,
    msgs: InboundMessage[],
    sink: ThreadSink,
    cancel: AbortSignal,
  ): Promise<Outcome> {
    const notes: string[] = [];
    const rejected = msgs.flatMap((m) => m.rejectedFiles ?? []);
    for (const f of rejected) notes.push(`I skipped "${f.name}": ${f.reason}.`);
    let text = msgs
      .map((m) => m.text.trim())
      .filter(Boolean)
      .join('\n');
    if (text.length > this.options.maxMessageChars) {
      notes.push(
        `Your message was ${text.length.toLocaleString('en')} characters; I used the first ${this.options.maxMessageChars.toLocaleString('en')}.`,
      );
      text = text.slice(0, this.options.maxMessageChars);
    }
    const upload = msgs.flatMap((m) => m.images ?? []).at(-1);
    const last = msgs.at(-1) as InboundMessage;

    if (!text && !upload) {
      const said = notes.length > 0 ? `${notes.join('\n')}\n` : '';
      await sink.send({
        kind: 'notice',
        level: rejected.length ? 'warn' : 'info',
        text: `${said}${helpText()}`,
      });
      return NOTHING;
    }
    let uploadPng: Buffer | undefined;
    if (upload) {
      try {
        uploadPng = await uploadToPng(upload.data);
      } catch (err) {
        throw new UserFacingError(`I could not use "${upload.name}" as a picture: ${errorMessage(err)}`);
      }
    }

    let restart = msgs.some((m) => m.startsSearch) || state.rounds.length === 0;
    await sink.progress?.('Refining your description…');
    const previous = restart ? undefined : state.rounds.at(-1)?.query;
    const t0 = performance.now();
    const refined = text
      ? await this.runner.refine(previous, text, restart ? [] : state.rounds, cancel)
      : { query: previous ?? 'an image' };
    const refineMs = ms(performance.now() - t0);
    if (refined.note) notes.push(refined.note);
    if (refined.intent === 'restart') restart = true;
    if (!refined.query.trim() && !uploadPng) {
      if (restart) this.clearSearch(state);
      const text = restart ? 'Started over. Describe the image you have in mind.' : helpText();
      return {
        state: restart ? state : null,
        after: () => sink.send({ kind: 'notice', level: 'info', text }),
      };
    }
    if (restart) this.clearSearch(state);
    else if (state.status === 'found') {
      state.status = 'active';
      delete state.found;
      notes.push('You had already picked a match; I am searching again with your correction.');
    }

    const visual: Visual = uploadPng
      ? { kind: 'upload', png: uploadPng }
      : { kind: 'generate', seed: this.seedFor(state, refined.query) };
    await sink.progress?.(uploadPng ? 'Searching with your picture…' : 'Drawing what I understood…');
    return this.newRound(state, sink, {
      cause: uploadPng ? 'image' : restart ? 'find' : 'refine',
      userText: text,
      userId: last.userId,
      query: refined.query,
      visual,
      notes,
      timings: { refine: refineMs },
      cancel,
    });
  }

  private async handleAction(
    state: ThreadState,
    item: Extract<WorkItem, { kind: 'action' }>,
  ): Promise<Outcome> {
    const { ref, sink, action } = item;
    const say = (text: string, ephemeral = true): Outcome => ({
      state: null,
      after: () => sink.send({ kind: 'notice', level: 'warn', text, ephemeral }),
    });
    if (ref.action === 'help') {
      const text = helpText('/', { admin: this.options.isAdmin(action.userId) });
      return { state: null, after: () => sink.send({ kind: 'notice', level: 'info', text }) };
    }
    if (ref.action === 'keep') return this.keep(state, action.userId, sink);
    if (ref.action === 'reset') {
      this.clearSearch(state);
      return {
        state,
        after: () =>
          sink.send({
            kind: 'notice',
            level: 'info',
            text: 'Started over. Describe the image you have in mind.',
          }),
      };
    }
    const latest = state.rounds.at(-1);
    if (!latest)
      return say('There is no search in this thread yet. Describe the image you remember to start one.');
    if (ref.roundId !== LATEST && ref.roundId !== latest.id) {
      const stale = state.rounds.find((r) => r.id === ref.roundId);
      return say(
        `That button belongs to ${stale ? `round ${stale.index + 1}` : 'an earlier search'}, which is no longer current; use the buttons of round ${latest.index + 1}.`,
      );
    }
    if (ref.action === 'undo') return this.undo(state, sink);
    if (state.status === 'found' && ref.action !== 'regen') {
      return say(
        `This search is finished: you picked a match in round ${latest.index + 1}. Send a correction to keep searching, or start a new search.`,
      );
    }
    const n = ref.action === 'pick' || ref.action === 'more' ? this.matchNumber(ref, latest) : 0;
    if (typeof n === 'string') return say(n);
    const base = { userText: '', userId: action.userId, query: latest.query, notes: [] };

    switch (ref.action) {
      case 'pick':
        return this.pick(state, latest, n, action.userId, sink);
      case 'more': {
        const assetId = (latest.matches[n - 1] as { assetId: string }).assetId;
        latest.feedback.push({ kind: 'more-like', assetIds: [assetId], at: this.options.now() });
        await sink.progress?.(`Looking for more like #${n}…`);
        return this.newRound(state, sink, {
          ...base,
          cause: 'more-like',
          userText: `/more ${n}`,
          visual: { kind: 'reuse', from: latest },
        });
      }
      case 'not': {
        const assetIds = latest.matches.map((m) => m.assetId);
        latest.feedback.push({ kind: 'not-these', assetIds, at: this.options.now() });
        await sink.progress?.('Searching away from those…');
        return this.newRound(state, sink, {
          ...base,
          cause: 'not-these',
          userText: '/not',
          visual: { kind: 'reuse', from: latest },
        });
      }
      case 'regen':
        if (state.status === 'found') {
          state.status = 'active';
          delete state.found;
        }
        await sink.progress?.('Drawing it again…');
        return this.newRound(state, sink, {
          ...base,
          cause: 'regenerate',
          userText: '/regen',
          visual: {
            kind: 'generate',
            seed: this.seedFor(state, `${latest.query}#${latest.generated?.seed ?? 0}`),
          },
        });
      default:
        return say(`/${ref.action} does not apply here.`);
    }
  }

  private keep(state: ThreadState, userId: string, sink: ThreadSink): Outcome {
    const info = (text: string): Outcome => ({
      state: null,
      after: () => sink.send({ kind: 'notice', level: 'info', text, ephemeral: true }),
    });
    if (this.options.transcripts === 'off')
      return info('Transcripts are not collected on this server; nothing is kept.');
    if (this.options.transcripts === 'on' || state.consent)
      return info('This search is already kept for research.');
    if (state.rounds.length === 0) return info('There is no search in this thread yet.');
    state.consent = { userId, at: this.options.now() };
    return {
      state,
      after: async (saved) => {
        for (const round of saved.rounds) await this.record(saved, round);
        await sink.send({
          kind: 'notice',
          level: 'info',
          text: 'Thank you: the rounds of this search will be kept for research, pseudonymized. /forget deletes them.',
        });
      },
    };
  }

  /** forget / status / export: about a person or the server, not this thread's search. */
  private async handleOutsideThread(
    key: ThreadKey,
    item: Extract<WorkItem, { kind: 'action' }>,
  ): Promise<void> {
    const { ref, action, sink } = item;
    const admin = this.options.isAdmin(action.userId);
    const reply = (text: string, level: 'info' | 'warn' = 'info') =>
      sink.send({ kind: 'notice', level, text, ephemeral: true });
    if (ref.action === 'forget') {
      const [scope, ...rest] = (ref.arg ?? '').split(/\s+/).filter(Boolean);
      if (scope && !admin)
        return reply(
          'Only admins can forget other people or threads. /forget alone deletes your own data.',
          'warn',
        );
      if (scope === 'thread') {
        const records = await this.forgetThread(key);
        return reply(`Deleted this thread's search and its ${plural(records, 'transcript record')}.`);
      }
      if (scope === 'user' && rest[0]) {
        const { threads, records } = await this.forgetUser(rest[0]);
        return reply(
          `Deleted ${plural(threads, 'search', 'searches')} and ${plural(records, 'transcript record')} of user ${rest[0]}.`,
        );
      }
      if (scope) return reply('Use /forget, /forget thread, or /forget user <id>.', 'warn');
      const { threads, records } = await this.forgetUser(action.userId);
      return reply(
        `Deleted ${plural(threads, 'search', 'searches')} and ${plural(records, 'transcript record')} of yours. Nothing of yours is kept.`,
      );
    }
    const task = this.options.admin?.[ref.action as 'status' | 'export'];
    if (!admin) return reply(`/${ref.action} is for admins of this bot only.`, 'warn');
    if (!task) return reply(`/${ref.action} is not available on this server.`, 'warn');
    return reply(await task());
  }

  /** Deletes every search the person started and every transcript record of theirs. */
  async forgetUser(userId: string): Promise<{ threads: number; records: number }> {
    const keys = await this.deps.threads.forgetOwner(userId);
    let records = await this.deps.transcripts.removeUser(this.options.hashUser(userId));
    for (const key of keys) {
      records += await this.deps.transcripts.removeThread(key);
      await this.deps.images.deleteThread(key);
    }
    this.deps.logger.info({ threads: keys.length, records }, 'forgot a user');
    return { threads: keys.length, records };
  }

  async forgetThread(key: ThreadKey): Promise<number> {
    await this.deps.threads.delete(key);
    const records = await this.deps.transcripts.removeThread(key);
    await this.deps.images.deleteThread(key);
    return records;
  }

  private matchNumber(ref: ActionRef, latest: Round): number | string {
    const n = Number(ref.arg);
    const count = latest.matches.length;
    if (!ref.arg) return `Say which match: a number from 1 to ${count}, e.g. /${ref.action} 3.`;
    if (!Number.isInteger(n) || n < 1 || n > count) {
      return `There is no match #${ref.arg} in round ${latest.index + 1}; pick a number from 1 to ${count}.`;
    }
    return n;
  }

  private async pick(
    state: ThreadState,
    round: Round,
    n: number,
    userId: string,
    sink: ThreadSink,
  ): Promise<Outcome> {
    const assetId = (round.matches[n - 1] as { assetId: string }).assetId;
    round.feedback.push({ kind: 'picked', assetIds: [assetId], at: this.options.now() });
    state.status = 'found';
    state.found = { assetId, roundId: round.id, userId };
    state.updatedAt = this.options.now();
    return {
      state,
      after: async (saved) => {
        await this.record(saved, round);
        await sink.send({
          kind: 'found',
          view: await buildFoundView(saved, round, assetId, this.deps.gallery),
        });
      },
    };
  }

  private undo(state: ThreadState, sink: ThreadSink): Outcome {
    const dropped = state.rounds.pop() as Round;
    const latest = state.rounds.at(-1);
    state.status = 'active';
    delete state.found;
    // The feedback that led to the dropped round goes with it.
    if (latest) latest.feedback = [];
    state.updatedAt = this.options.now();
    return {
      state,
      after: async (saved) => {
        await this.deps.transcripts.removeRound(saved.key, dropped.id);
        if (!latest) {
          await sink.send({
            kind: 'notice',
            level: 'info',
            text: 'Removed round 1. Describe the image to start again.',
          });
          return;
        }
        await sink.send({
          kind: 'notice',
          level: 'info',
          text: `Removed round ${dropped.index + 1}; back at round ${latest.index + 1}.`,
        });
        await sink.send({
          kind: 'round',
          view: await buildRoundView(saved, latest, this.deps, this.options.transcripts),
        });
      },
    };
  }

  private async newRound(
    state: ThreadState,
    sink: ThreadSink,
    req: Omit<RoundRequest, 'id' | 'now'>,
  ): Promise<Outcome> {
    const round = await this.runner.run(state, { ...req, id: newRoundId(), now: this.options.now() });
    state.rounds.push(round);
    state.ownerId ??= req.userId;
    state.updatedAt = this.options.now();
    return {
      state,
      after: async (saved, saveMs) => {
        const t0 = performance.now();
        const previous = saved.rounds.at(-2);
        if (previous && previous.feedback.length > 0) await this.record(saved, previous);
        await this.record(saved, round);
        const t1 = performance.now();
        const view = await buildRoundView(saved, round, this.deps, this.options.transcripts);
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

  private async record(state: ThreadState, round: Round): Promise<void> {
    const policy = this.options.transcripts;
    if (policy === 'off' || (policy === 'opt-in' && !state.consent)) return;
    await this.deps.transcripts.put(toTranscriptRecord(state, round, this.options.hashUser));
  }

  private clearSearch(state: ThreadState): void {
    state.rounds = [];
    state.status = 'active';
    delete state.found;
    delete state.consent;
    delete state.ownerId;
    state.updatedAt = this.options.now();
  }

  private seedFor(state: ThreadState, salt: string): number {
    return hashString(`${state.key}|${state.rounds.length}|${salt}`);
  }
}

const ms = (x: number) => Math.round(x * 100) / 100;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function newRoundId(): string {
  return randomBytes(6).toString('base64url');
}
