import type { ActionRef } from './action-id.ts';
import type { TranscriptPolicy } from './consent.ts';
import type {
  Asset,
  InboundAction,
  InboundMessage,
  Round,
  RoundView,
  ThreadKey,
  ThreadSink,
  ThreadState,
} from './types.ts';

export interface RefineInput {
  previous?: string;
  message: string;
  history: Round[];
}

export interface RefineResult {
  query: string;
  /** 'restart' when the message asks to start over rather than correct. */
  intent?: 'refine' | 'restart';
  /** Set when a fallback refiner produced the query (shown to the person). */
  note?: string;
}

export interface QueryRefiner {
  readonly id: string;
  refine(input: RefineInput, signal?: AbortSignal): Promise<RefineResult>;
  /** Releases workers, files or connections; the composition root calls it once, at shutdown. */
  close?(): Promise<void>;
}

export interface GenerateResult {
  png: Buffer;
  seed: number;
  /** What the generator drew, in words (e.g. a scene caption), if it knows. */
  interpretation?: string;
  costUsd?: number;
  meta?: unknown;
}

export interface ImageGenerator {
  readonly id: string;
  generate(query: string, options: { seed: number; signal: AbortSignal }): Promise<GenerateResult>;
  /** Releases workers, files or connections; the composition root calls it once, at shutdown. */
  close?(): Promise<void>;
}

/** How an encoder turns a picture into its input tensor; stored in index headers. */
export interface Preprocessing {
  size: number;
  resize: 'shortest-crop' | 'stretch';
  mean: [number, number, number];
  std: [number, number, number];
}

export interface ImageEncoder {
  readonly id: string;
  readonly dim: number;
  readonly preprocessing: Preprocessing;
  embedImages(images: Buffer[]): Promise<Float32Array[]>;
  embedTexts?(texts: string[]): Promise<Float32Array[]>;
  /** Releases workers, files or connections; the composition root calls it once, at shutdown. */
  close?(): Promise<void>;
}

export interface SearchHit {
  id: string;
  score: number;
}

export interface IndexHeader {
  encoderId: string;
  dim: number;
  preprocessing: Preprocessing;
}

export interface VectorIndex {
  readonly header: IndexHeader;
  upsert(items: { id: string; vector: Float32Array }[]): Promise<void>;
  search(vector: Float32Array, k: number, options?: { exclude?: ReadonlySet<string> }): Promise<SearchHit[]>;
  /** Stored vectors by id (missing ids are absent from the map); used for relevance feedback. */
  fetch(ids: string[]): Promise<Map<string, Float32Array>>;
  remove(ids: string[]): Promise<void>;
  size(): Promise<number>;
  /** Persist pending changes (no-op for remote indexes). */
  flush(): Promise<void>;
  /** Releases workers, files or connections; the composition root calls it once, at shutdown. */
  close?(): Promise<void>;
}

export interface Gallery {
  get(id: string): Promise<Asset | null>;
  getMany(ids: string[]): Promise<Map<string, Asset>>;
  /** The asset's bytes, or null if the file is missing/unreadable. */
  read(asset: Asset): Promise<Buffer | null>;
  count(): Promise<number>;
}

export interface ThreadStore {
  load(key: ThreadKey): Promise<ThreadState | null>;
  /** Compare-and-set on version: true when saved (state.version is then expectedVersion + 1). */
  save(state: ThreadState, expectedVersion: number): Promise<boolean>;
  /** true the first time a dedupe key is claimed within ttlMs. */
  claimOnce(dedupeKey: string, ttlMs: number): Promise<boolean>;
  delete(key: ThreadKey): Promise<void>;
  /** Deletes every thread the person started; returns their keys. */
  forgetOwner(userId: string): Promise<ThreadKey[]>;
  /** Keys starting with `prefix` (e.g. "web:"), most recently updated first. */
  listKeys(prefix: string, limit: number): Promise<ThreadKey[]>;
}

/** Synthetic images of rounds, by relative path. */
export interface RoundImageStore {
  put(key: ThreadKey, roundId: string, png: Buffer): Promise<string>;
  get(ref: string): Promise<Buffer | null>;
  /** Removes one picture (a round that was never saved); a missing ref is not an error. */
  delete(ref: string): Promise<void>;
  deleteThread(key: ThreadKey): Promise<void>;
}

/** One sliding-window limit: at most `limit` hits of `key` in the window (0 = no limit). */
export interface RateLimit {
  key: string;
  limit: number;
}

/** Rate-limit windows, shared by every instance that uses the same store. */
export interface RateWindows {
  /**
   * The ms until every limit has room for one more hit in the last `windowMs` (0: now). With
   * `take`, and when all have room, records one hit under each key, atomically.
   */
  check(limits: readonly RateLimit[], windowMs: number, take: boolean): Promise<number>;
}

/** A thread's lock as held by this instance, renewed while held. */
export interface ThreadLease {
  /** Aborted when the lease could not be renewed (expired, taken over, database lost). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * One holder per thread at a time, across every instance on the same store. A lease, not a
 * session: a crashed holder's lock expires after the lease, and another instance takes over.
 */
export interface ThreadLocks {
  /** Waits until this instance holds the thread's lock; `signal` gives up waiting. */
  acquire(key: ThreadKey, signal?: AbortSignal): Promise<ThreadLease>;
  close?(): Promise<void>;
}

/** A message accepted for a thread and not yet answered. */
export interface InboxEntry {
  /** Increases with arrival, across every instance. */
  seq: number;
  message: InboundMessage;
  acceptedAt: number;
}

/**
 * The messages accepted for each thread and not yet answered, shared by every instance: whoever
 * holds the thread's lock answers them all, in arrival order, in its next round.
 */
export interface ThreadInbox {
  /** Appends a message (after its event id was claimed); returns its entry's seq. */
  push(message: InboundMessage): Promise<number>;
  /** The thread's entries not yet answered, oldest first. */
  pending(key: ThreadKey): Promise<InboxEntry[]>;
  /** Removes these entries of the thread (they were answered). */
  consume(key: ThreadKey, seqs: readonly number[]): Promise<void>;
  /** Threads with an entry accepted more than `ageMs` ago (its instance may be gone). */
  stale(ageMs: number, limit: number): Promise<ThreadKey[]>;
}

export interface TranscriptRecord {
  threadKey: ThreadKey;
  roundId: string;
  roundIndex: number;
  userHash: string;
  message: string;
  query: string;
  generatorId: string | null;
  seed: number | null;
  syntheticImage: string | null;
  encoderId: string;
  retrieved: { assetId: string; score: number }[];
  feedback: { kind: string; assetIds: string[] }[];
  label: 0 | 1;
  timings: Record<string, number>;
  createdAt: number;
}

export interface TranscriptStore {
  /** Insert or replace the record of a round (feedback and label change after the round). */
  put(record: TranscriptRecord): Promise<void>;
  removeRound(threadKey: ThreadKey, roundId: string): Promise<void>;
  /** These return how many records were removed. */
  removeThread(threadKey: ThreadKey): Promise<number>;
  removeUser(userHash: string): Promise<number>;
  purgeBefore(time: number): Promise<number>;
  list(options?: { since?: number; threadKey?: ThreadKey }): Promise<TranscriptRecord[]>;
}

/** The slice of a logger the core needs (pino satisfies it). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A typed message read as a command: an action on the latest round, a new search, or an unknown name. */
export type TypedCommand =
  | { kind: 'find'; text: string }
  | { kind: 'action'; ref: ActionRef }
  | { kind: 'unknown'; name: string };

/** The command set as the engine needs it; commands/ implements it. */
export interface CommandSet {
  /** "/pick 3", "/find a red fox" → a command; null when the text is not a command. */
  parseTyped(text: string): TypedCommand | null;
  /** The help people read (commands typed with "/"); admin commands only for admins. */
  help(options?: { admin?: boolean }): string;
}

/** One tile of a round's contact sheet. */
export interface SheetTile {
  /** The number people type or click (1-based). */
  n: number;
  /** The image bytes; null when the file could not be read. */
  png: Buffer | null;
  /** Short caption under the tile (truncated to fit). */
  label?: string;
  /** Why png is null (shown on the placeholder), e.g. "file missing". */
  error?: string;
}

/** The pictures of a round, and uploads made fit to search with; adapters/pictures draws them. */
export interface RoundPictures {
  /** The round's picture with its query as a caption ("Round N" and the words). */
  synthetic(input: { png: Buffer; query: string; roundNumber: number }): Promise<Buffer>;
  /** One PNG of the numbered matches; tiles that cannot be shown become placeholders. */
  contactSheet(tiles: SheetTile[]): Promise<Buffer>;
  /** An uploaded picture checked and normalized to PNG; rejects with a reason people can read. */
  uploadToPng(data: Buffer): Promise<Buffer>;
}

/** What the chat front ends hand events to; core's ConversationEngine implements it. */
export interface ChatEngine {
  /** The limits and policies a front end shows people (page info, help). */
  readonly settings: { maxMessageChars: number; topK: number; transcripts: TranscriptPolicy };
  /**
   * Core's one rule for "is this message for us?": a message addressed to the bot (a mention, a
   * DM, a slash command) starts or continues a search; any other message counts only in a
   * thread that already has one. Front ends ask before any side effect (downloads, new threads).
   */
  isForUs(key: ThreadKey, addressed: boolean): Promise<boolean>;
  /**
   * What to tell a person whose new round would be over the rate limits now, or null. Front ends
   * ask before a side effect of starting a search (a new thread, a root post); the engine applies
   * the limits again itself, deferring messages (never dropping them) and refusing controls.
   */
  tooFast(key: ThreadKey, userId: string): Promise<string | null>;
  onMessage(msg: InboundMessage, sink: ThreadSink): Promise<void>;
  onAction(action: InboundAction, sink: ThreadSink): Promise<void>;
  /** A thread as stored (read-only for front ends), or null. */
  thread(key: ThreadKey): Promise<ThreadState | null>;
  /** Threads whose keys start with `prefix`, most recently updated first. */
  threads(prefix: string, limit: number): Promise<ThreadState[]>;
  /** A stored round as front ends show it (its pictures rendered again), or null. */
  roundView(key: ThreadKey, roundId: string): Promise<RoundView | null>;
  /** Creates an empty search thread (a front end's "New search" before any message). */
  openThread(key: ThreadKey, ownerId?: string): Promise<ThreadState>;
  /** Resolves when every event handed over so far has been handled. */
  idle(): Promise<void>;
}

/** One chat platform's front end: Discord, Slack, web, terminal. The composition root starts them. */
export interface ChatFrontEnd {
  readonly name: string;
  /** Connects/listens; resolves once events flow. */
  start(): Promise<void>;
  /** Stops taking events, lets those already taken finish, and disconnects. */
  stop(): Promise<void>;
  /** Resolves when every event received so far has been handled. */
  idle(): Promise<void>;
  /**
   * Where to answer one of this front end's threads without an event in hand (an instance taking
   * up messages another instance accepted and left behind); null when the key is not its own.
   */
  sinkFor?(key: ThreadKey, userId: string): ThreadSink | null;
}
