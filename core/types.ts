/** Platform-neutral thread id: "<platform>:<part>:<part>…" — see core/thread-key.ts. */
export type ThreadKey = string;

export interface Match {
  assetId: string;
  score: number;
}

export type FeedbackKind = 'picked' | 'more-like' | 'not-these';

export interface Feedback {
  kind: FeedbackKind;
  /** Asset ids the feedback is about (one for picked / more-like, all shown for not-these). */
  assetIds: string[];
  at: number;
}

/** What started a round. */
export type RoundCause = 'find' | 'refine' | 'more-like' | 'not-these' | 'regenerate' | 'image';

export interface GeneratedRef {
  generatorId: string;
  seed: number;
  /** Path of the synthetic PNG in the round image store, relative to its root. */
  image: string;
  /** What the generator understood (e.g. the sketch generator's scene caption). */
  interpretation?: string;
  /** Summed over the generator calls of the round (more than one when it was drawn again). */
  latencyMs?: number;
  costUsd?: number;
  /** Generator calls of the round (2 when a drawing that did not change was drawn again). */
  calls?: number;
}

/** Why a round was drawn or answered in words (the router's decision, or the person's wish). */
export interface RouteRef {
  decision: 'draw' | 'text';
  /** The router's id, or "person" for /draw and /nodraw. */
  by: string;
  reason: string;
}

export interface Round {
  /** Short unique id, used in button ids. */
  id: string;
  /** 0-based position in the thread. */
  index: number;
  cause: RoundCause;
  /** The person's words that started this round (merged if several arrived mid-round). */
  userText: string;
  /** The refined, self-contained query q_t. */
  query: string;
  /** The synthetic image; null when a round reuses the previous one (more-like, not-these) or is a text round. */
  generated: GeneratedRef | null;
  /** Set on rounds the router decided; a `text` round has no picture. */
  route?: RouteRef;
  /** Base vector of the round (synthetic image embedding, optionally fused with text), before feedback. */
  baseVector: number[];
  encoderId: string;
  matches: Match[];
  feedback: Feedback[];
  /** Messages about degraded service in this round (fallbacks used). */
  notes: string[];
  timings: Record<string, number>;
  userId: string;
  createdAt: number;
}

export type ThreadStatus = 'active' | 'found';

export interface ThreadState {
  key: ThreadKey;
  status: ThreadStatus;
  rounds: Round[];
  /** Incremented on every successful save; saves are compare-and-set on it. */
  version: number;
  /** Who started the current search (for "forget"). */
  ownerId?: string;
  /** Set when the person agreed to keep this search's rounds for research (TRANSCRIPTS=opt-in). */
  consent?: { userId: string; at: number };
  /** The person's /draw or /nodraw for this thread; unset = the router decides. */
  drawing?: 'always' | 'never';
  /** Asset picked as the target, when status is found. */
  found?: { assetId: string; roundId: string; userId: string };
  /** The name the person gave this search; unset = its first words. */
  title?: string;
  createdAt: number;
  updatedAt: number;
  /**
   * The inbox entries the last saved round answered: removed from the inbox right after the save,
   * and skipped if a crash came in between (so no message is answered twice).
   */
  inboxAnswered?: number[];
}

export interface Asset {
  id: string;
  /** Absolute path or URL of the original file. */
  source: string;
  title: string;
  width?: number;
  height?: number;
  caption?: string;
  /** Content hash of the file (e.g. sha256 hex), when the gallery knows it: thumbnails are kept by it. */
  hash?: string;
}

export interface RoundTile {
  n: number;
  assetId: string;
  title: string;
  score: number;
}

/** What every chat front end renders for a round. */
export interface RoundView {
  threadKey: ThreadKey;
  roundId: string;
  /** 1-based for people. */
  roundNumber: number;
  query: string;
  interpretation?: string;
  /** PNG: the synthetic image with its query as caption (null when the round reused no new image). */
  syntheticPng: Buffer | null;
  /** Said where the picture would be, when the round has none: a text round's reason. */
  noPicture?: string;
  /** PNG: numbered contact sheet of the matches. */
  contactSheetPng: Buffer;
  tiles: RoundTile[];
  notes: string[];
  /** On the first round: whether and how rounds are kept for research. */
  consentNotice?: string;
  /** Button ids of the round's actions, per command. */
  actions: RoundActions;
}

export interface RoundActions {
  pick: string[];
  moreLike: string[];
  notThese: string;
  regenerate: string;
  undo: string;
  newSearch: string;
  /** "Keep this search for research" (TRANSCRIPTS=opt-in, until pressed). */
  keep?: string;
}

export interface FoundView {
  threadKey: ThreadKey;
  roundNumber: number;
  asset: Asset;
  /** The original file's bytes when it is a local file (null if it could not be read). */
  file: Buffer | null;
  fileName: string;
}

export type Reply =
  | { kind: 'round'; view: RoundView }
  | { kind: 'found'; view: FoundView }
  | { kind: 'notice'; level: 'info' | 'warn' | 'error'; text: string; ephemeral?: boolean };

/** Where the engine sends what it has to say in one thread; each chat adapter implements it. */
export interface ThreadSink {
  send(reply: Reply): Promise<void>;
  /** A short progress line while a round runs ("generating…"); may be ignored. */
  progress?(text: string): Promise<void> | void;
}

export interface InboundMessage {
  key: ThreadKey;
  /** Platform id of the message/event, for dedupe. */
  eventId: string;
  userId: string;
  text: string;
  /** Uploaded images (raw bytes) to use as the query image. */
  images?: { name: string; data: Buffer }[];
  /** Attachments that are present but unusable (not images, too large), by name. */
  rejectedFiles?: { name: string; reason: string }[];
  /** true when this message explicitly starts a new search (slash command, mention). */
  startsSearch?: boolean;
  /** The platform's own word on whether the person administers this tenant; asked only for admin commands. */
  platformAdmin?: PlatformAdminCheck;
}

/** Asks the platform (Slack users.info, Discord's member permissions) whether a person is an admin of the tenant. */
export type PlatformAdminCheck = () => Promise<boolean>;

export interface InboundAction {
  key: ThreadKey;
  eventId: string;
  userId: string;
  /** The encoded action id from a button / select / text command (see core/action-id.ts). */
  actionId: string;
  platformAdmin?: PlatformAdminCheck;
}
