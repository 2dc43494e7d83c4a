import { createHash } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { sharpPictures, warmUpPictures } from '../adapters/pictures/sharp/index.ts';
import type { Progress } from '../adapters/progress/index.ts';
import { exportTranscripts } from '../adapters/store/transcript-export.ts';
import { commandSet } from '../commands/index.ts';
import { ConversationEngine, type EngineOptions } from '../core/engine.ts';
import type { ChatFrontEnd, Gallery, Logger, RoundImageStore, VectorIndex } from '../core/ports.ts';
import type { Config } from './config.ts';
import type { LoadedEncoder } from './encoder.ts';
import type { TenantGalleries } from './galleries.ts';
import { buildPorts, type Stores } from './ports.ts';
import { redactingLogOptions } from './redact.ts';
import { TenantLifecycle } from './tenant-lifecycle.ts';
import { isWebTokenAdmin } from './web.ts';

export interface Runtime {
  config: Config;
  logger: pino.Logger;
  engine: ConversationEngine;
  stores: Stores;
  encoder: LoadedEncoder;
  /** The local tenant's gallery: the demo gallery, or GALLERY indexed with `genir index`. */
  gallery: Gallery;
  index: VectorIndex;
  /** Every tenant's gallery by its binding. */
  galleries: TenantGalleries;
  /** Workspaces and guilds joining and leaving (installations, grace period, purge). */
  tenants: TenantLifecycle;
  images: RoundImageStore;
  /**
   * With a shared store (PostgreSQL): now and then, answers threads whose messages another
   * instance accepted and then left (it crashed or lost its lock), through these front ends.
   */
  adoptLeftBehind(frontEnds: readonly ChatFrontEnd[]): void;
  close(): Promise<void>;
}

/** The JSON log: on stderr (stdout), or appended to a file (`{ file }`: the terminal chat keeps its screen for the chat). */
export function createLogger(
  config: Config,
  destination: 'stdout' | 'stderr' | { file: string } = 'stderr',
): pino.Logger {
  const to =
    typeof destination === 'object'
      ? pino.destination({ dest: destination.file, mkdir: true, sync: true })
      : pino.destination(destination === 'stderr' ? 2 : 1);
  return pino({ level: config.LOG_LEVEL, ...redactingLogOptions }, to);
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** TRANSCRIPT_RETENTION_DAYS: purge older transcript records now and then daily. */
function startRetention(config: Config, stores: Stores, logger: pino.Logger): NodeJS.Timeout | undefined {
  const days = config.TRANSCRIPT_RETENTION_DAYS;
  if (days <= 0) return undefined;
  const purge = async () => {
    const removed = await stores.transcripts.purgeBefore(Date.now() - days * DAY_MS);
    logger.info({ removed, days }, 'transcript retention purge');
  };
  void purge();
  return setInterval(() => void purge(), DAY_MS).unref();
}

export async function buildRuntime(
  config: Config,
  options: {
    logger?: pino.Logger;
    progress?: Progress;
    log?: (line: string) => void;
    rebuild?: boolean;
    engineOptions?: Partial<EngineOptions>;
  } = {},
): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config);
  // Start-up in parallel: the picture drawing warms up (fonts) while the ports open; not awaited.
  warmUpPictures().catch((err: unknown) => logger.warn({ err }, 'warming up the picture drawing failed'));
  const ports = await buildPorts(config, logger as Logger, options);
  const { encoder, index, gallery, galleries, stores, images } = ports;
  const admins = new Set(config.ADMIN_USER_IDS);
  const engine = new ConversationEngine(
    {
      refiner: ports.refiner,
      ...(ports.fallbackRefiner ? { fallbackRefiner: ports.fallbackRefiner } : {}),
      generator: ports.generator,
      router: ports.router,
      ...(ports.drawingCheck ? { drawingCheck: ports.drawingCheck } : {}),
      encoder,
      galleries,
      images,
      threads: stores.threads,
      transcripts: stores.transcripts,
      commands: commandSet,
      pictures: sharpPictures,
      logger: logger as Logger,
      ...stores.shared,
    },
    {
      topK: config.TOP_K,
      ranking: {
        textWeight: config.TEXT_WEIGHT,
        positiveWeight: config.FEEDBACK_POSITIVE_WEIGHT,
        negativeWeight: config.FEEDBACK_NEGATIVE_WEIGHT,
        seenExclusion: config.SEEN_EXCLUSION,
      },
      maxMessageChars: config.MAX_MESSAGE_CHARS,
      refineTimeoutMs: config.REFINE_TIMEOUT_MS,
      generateTimeoutMs: config.GENERATE_TIMEOUT_MS,
      stagnationCosine: config.STAGNATION_COSINE,
      ...(config.DRAWING_BUDGET ? { drawingBudget: config.DRAWING_BUDGET } : {}),
      hashUser: (id) =>
        createHash('sha256').update(`${config.USER_HASH_SALT}:${id}`).digest('hex').slice(0, 24),
      roundsPerUserPerMinute: config.ROUNDS_PER_USER_PER_MINUTE,
      roundsPerWorkspacePerMinute: config.ROUNDS_PER_WORKSPACE_PER_MINUTE,
      transcripts: config.TRANSCRIPTS,
      isAdmin: (qualifiedUserId) => admins.has(qualifiedUserId) || isWebTokenAdmin(config, qualifiedUserId),
      admin: {
        status: async (tenant) => {
          const searched = await galleries.forTenant(tenant).catch(() => null);
          const records = (await stores.transcripts.list({ tenant })).length;
          const about = searched
            ? `Gallery ${searched.name}: ${await searched.gallery.count()} assets; index: ${await searched.index.size()} vectors`
            : 'No gallery bound to this workspace (genir gallery bind)';
          return `${about} (${encoder.id}, ${encoder.dim} dims); transcripts: ${config.TRANSCRIPTS}, ${records} records.`;
        },
        export: async (tenant) => {
          const stamp = new Date().toISOString().replace(/[:.]/g, '-');
          const out = join(config.DATA_DIR, 'exports', tenant.replace(/[^A-Za-z0-9_-]+/g, '-'), stamp);
          const { dialogues, rounds } = await exportTranscripts({
            out,
            transcripts: stores.transcripts,
            images,
            salt: config.USER_HASH_SALT,
            tenant,
          });
          return `Exported ${dialogues} dialogues (${rounds} rounds) to ${out} on the server.`;
        },
      },
      ...options.engineOptions,
    },
  );
  const retention = startRetention(config, stores, logger);
  const tenants = new TenantLifecycle(
    {
      tenants: stores.tenants,
      bindings: stores.bindings,
      forgetTenant: (tenant) => engine.forgetTenant(tenant),
      logger: logger as Logger,
    },
    config.TENANT_GRACE_DAYS,
  );
  const purge = tenants.schedule();
  let adopting: NodeJS.Timeout | undefined;
  return {
    config,
    logger,
    engine,
    stores,
    encoder,
    gallery,
    index,
    galleries,
    tenants,
    images,
    adoptLeftBehind(frontEnds) {
      if (!stores.shared) return;
      const lease = config.THREAD_LOCK_LEASE_MS;
      const sinkFor = (key: string, userId: string) =>
        frontEnds.map((fe) => fe.sinkFor?.(key, userId) ?? null).find((sink) => sink !== null) ?? null;
      const sweep = () =>
        engine
          .adoptWaiting(lease, sinkFor)
          .then((n) => n > 0 && logger.warn({ threads: n }, 'took up messages another instance left behind'))
          .catch((err: unknown) => logger.error({ err }, 'could not take up left-behind messages'));
      adopting = setInterval(sweep, lease / 2).unref();
    },
    async close() {
      clearInterval(adopting);
      clearInterval(retention);
      clearInterval(purge);
      await engine.idle();
      await ports.close();
    },
  };
}
