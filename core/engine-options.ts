import type { TranscriptPolicy } from './consent.ts';
import type {
  CommandSet,
  RateWindows,
  RoundPictures,
  ThreadInbox,
  ThreadLocks,
  ThreadStore,
  TranscriptStore,
} from './ports.ts';
import { hashString } from './random.ts';
import { DEFAULT_RANKING, type RankingOptions } from './ranking.ts';
import type { RunnerDeps } from './round-runner.ts';
import type { TenantId } from './tenant.ts';
import type { Round } from './types.ts';

export interface EngineDeps extends RunnerDeps {
  threads: ThreadStore;
  transcripts: TranscriptStore;
  /** How typed commands read and what /help says (commands/ implements it). */
  commands: CommandSet;
  /** The round pictures and upload checks (adapters/pictures implements it). */
  pictures: RoundPictures;
  /**
   * Shared by every instance on one store (PostgreSQL); when absent, the in-process ones: one
   * thread's lock, its accepted-but-unanswered messages, the rate-limit windows.
   */
  locks?: ThreadLocks;
  inbox?: ThreadInbox;
  rates?: RateWindows;
}

/** Server-side tasks behind the admin commands, each about one tenant; the composition root provides them. */
export interface AdminTasks {
  status(tenant: TenantId): Promise<string>;
  export(tenant: TenantId): Promise<string>;
}

export interface EngineOptions {
  topK: number;
  ranking: RankingOptions;
  maxMessageChars: number;
  dedupeTtlMs: number;
  refineTimeoutMs: number;
  generateTimeoutMs: number;
  /** Redraw a drawing this similar to the last picture once (stagnation guard); 1 = off. */
  stagnationCosine?: number;
  /** Drawings per search the router may spend. */
  drawingBudget?: number;
  /** Salted one-way hash of user ids for transcripts. */
  hashUser: (userId: string) => string;
  now: () => number;
  /** Rounds a person may start per minute, and all people of one tenant together (0 = no limit). */
  roundsPerUserPerMinute: number;
  roundsPerWorkspacePerMinute: number;
  /** Whether rounds are kept as research transcripts: never, after the person agrees, or always. */
  transcripts: TranscriptPolicy;
  /** Admins named in config, by platform-qualified id (core/tenant.ts qualifiedUserId): "slack:T…:U…". */
  isAdmin: (qualifiedUserId: string) => boolean;
  admin?: AdminTasks;
  /** Waits (the rate limit's pause before a deferred round); tests advance a fake clock instead. */
  sleep: (ms: number) => Promise<void>;
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
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
