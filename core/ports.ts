import type { ActionRef } from './action-id.ts';
import type { TranscriptPolicy } from './consent.ts';
import type { TenantId } from './tenant.ts';
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
  /**
   * false when the message holds nothing the refiner recognises as a description of an image (a
   * link, a code block, a command without its slash, a run of one letter): nothing is drawn and the
   * person is told what was not understood (`unrecognised`), with examples it would understand.
   */
  understood?: boolean;
  unrecognised?: string;
  examples?: string[];
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

/** What the router knows before a round, all without the target (core/router.ts computes it). */
export interface RouteSignals {
  /** 0-based index of the round about to run. */
  round: number;
  /** Whether the thread has a picture (drawn or uploaded) to search with. */
  hasPicture: boolean;
  /** How much the query changed since the last picture (1 − Jaccard of content words; 1 without one). */
  queryChange: number;
  /** How much it changed since the last round. */
  lastChange: number;
  roundsSincePicture: number;
  /** Pictures drawn in this search so far. */
  drawings: number;
  /** Top-1 minus top-2 score of the last round's matches. */
  margin: number;
  /** Normalized entropy (0..1) of the last round's top scores. */
  entropy: number;
  /** Overlap of a text-only search's top-K with the last matches (only with a text tower). */
  textImageAgreement?: number;
  /** The person said "none of these" to the last matches. */
  rejectedLast: boolean;
  /** Drawings left in this search's budget, when there is one. */
  budgetLeft?: number;
}

export interface RouteInput {
  key: ThreadKey;
  query: string;
  /** The seed a drawing would use (the eval's oracle draws it to look). */
  seed: number;
  signals: RouteSignals;
}

export interface RouteDecision {
  decision: 'draw' | 'text';
  /** Why, in words people read ("the description changed a lot since the last picture"). */
  reason: string;
}

/** Decides before each round whether to draw a picture or answer with words and matches. */
export interface FeedbackRouter {
  readonly id: string;
  decide(input: RouteInput): RouteDecision | Promise<RouteDecision>;
}

/**
 * What a drawing shows that the description never asked for, in words ("a ring"); empty when
 * nothing. Implemented where the generator's interpretation can be read (the offline scene world).
 */
export interface DrawingCheck {
  unasked(query: string, interpretation: string): string[];
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
  /**
   * A small picture of the asset for contact sheets (made once, then kept), or null if the file is
   * missing/unreadable. Galleries without it are shown from read().
   */
  thumbnail?(asset: Asset): Promise<Buffer | null>;
  count(): Promise<number>;
}

/** A gallery as the engine searches it: its vectors and its assets. */
export interface SearchedGallery {
  readonly name: string;
  index: VectorIndex;
  gallery: Gallery;
}

/** Which gallery a thread searches (its channel's, else its tenant's); null when its tenant has none. */
export interface GalleryResolver {
  forThread(key: ThreadKey): Promise<SearchedGallery | null>;
}

export interface GalleryBinding {
  tenant: TenantId;
  /** Set for a per-channel binding, which wins over the tenant's. */
  channel: string | null;
  gallery: string;
  boundAt: number;
}

/** Which named gallery each tenant (or one of its channels) searches; `genir gallery bind` writes it. */
export interface GalleryBindingStore {
  bind(binding: Omit<GalleryBinding, 'boundAt'>): Promise<void>;
  /** true when there was such a binding. */
  unbind(tenant: TenantId, channel: string | null): Promise<boolean>;
  /** The channel's gallery, else the tenant's, else null. */
  lookup(tenant: TenantId, channel?: string): Promise<string | null>;
  list(): Promise<GalleryBinding[]>;
  /** Removes every binding of the tenant; returns how many. */
  removeTenant(tenant: TenantId): Promise<number>;
}

/** A workspace or guild the bot is installed in, with the platform's install data (tokens) if any. */
export interface TenantRecord {
  tenant: TenantId;
  /** The platform's installation (Slack OAuth: bot token, ids, scopes), as JSON. */
  installation: unknown | null;
  joinedAt: number;
  /** When the bot was uninstalled / removed; state is purged a grace period later. */
  leftAt: number | null;
}

/** The tenants the bot serves: Slack installations, Discord guilds joined and left. */
export interface TenantStore {
  /** Records a join (or re-join: clears leftAt); `installation` replaces the stored one when given. */
  joined(tenant: TenantId, installation?: unknown): Promise<void>;
  /** Marks the tenant as gone at `at` and deletes its installation (tokens) at once. */
  left(tenant: TenantId, at: number): Promise<void>;
  get(tenant: TenantId): Promise<TenantRecord | null>;
  /** Tenants that left before `time` (their grace period is over). */
  leftBefore(time: number): Promise<TenantId[]>;
  /** Deletes the tenant's record. */
  remove(tenant: TenantId): Promise<void>;
}

/** What a front end reports when a workspace or guild adds or removes the bot; the composition root acts on it. */
export interface TenantEvents {
  /** `installation` (the platform's install data) replaces the stored one when given. */
  joined(tenant: TenantId, installation?: unknown): Promise<void>;
  /** Deletes the installation at once; the tenant's state stays for the grace period. */
  left(tenant: TenantId): Promise<void>;
}

/** TenantEvents plus reading an installation back, for platforms installed per tenant (Slack OAuth). */
export interface TenantInstallations extends TenantEvents {
  /** The installation of a tenant the bot is installed in now; null when it never was or has left. */
  installation(tenant: TenantId): Promise<unknown | null>;
}

export interface ThreadStore {
  load(key: ThreadKey): Promise<ThreadState | null>;
  /** Compare-and-set on version: true when saved (state.version is then expectedVersion + 1). */
  save(state: ThreadState, expectedVersion: number): Promise<boolean>;
  /** true the first time a dedupe key is claimed within ttlMs. */
  claimOnce(dedupeKey: string, ttlMs: number): Promise<boolean>;
  delete(key: ThreadKey): Promise<void>;
  /** Deletes every thread the person started in the tenant; returns their keys. */
  forgetOwner(userId: string, tenant: TenantId): Promise<ThreadKey[]>;
  /** Deletes every thread of the tenant; returns their keys. */
  forgetTenant(tenant: TenantId): Promise<ThreadKey[]>;
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
  /** The person's records in one tenant. */
  removeUser(userHash: string, tenant: TenantId): Promise<number>;
  removeTenant(tenant: TenantId): Promise<number>;
  purgeBefore(time: number): Promise<number>;
  list(options?: { since?: number; threadKey?: ThreadKey; tenant?: TenantId }): Promise<TranscriptRecord[]>;
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
/** What a front end may ask of the handling of one message. */
export interface MessageHooks {
  /**
   * Called once the message is durably accepted (written to its thread's inbox), before its round:
   * a platform that redelivers unacknowledged events is acknowledged here, so a crash before this
   * point leaves the platform retrying instead of losing the message.
   */
  accepted?(): void;
}

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
  onMessage(msg: InboundMessage, sink: ThreadSink, hooks?: MessageHooks): Promise<void>;
  onAction(action: InboundAction, sink: ThreadSink): Promise<void>;
  /** A thread as stored (read-only for front ends), or null. */
  thread(key: ThreadKey): Promise<ThreadState | null>;
  /** Threads whose keys start with `prefix`, most recently updated first. */
  threads(prefix: string, limit: number): Promise<ThreadState[]>;
  /** A stored round as front ends show it (its pictures rendered again), or null. */
  roundView(key: ThreadKey, roundId: string): Promise<RoundView | null>;
  /** Creates an empty search thread (a front end's "New search" before any message). */
  openThread(key: ThreadKey, ownerId?: string): Promise<ThreadState>;
  /** Deletes a thread, its transcript records and round images (a front end's "Delete search"). */
  forgetThread(key: ThreadKey): Promise<number>;
  /** Names a search (null: back to its first words); null when there is no such thread. */
  renameThread(key: ThreadKey, title: string | null): Promise<ThreadState | null>;
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
