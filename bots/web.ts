import { join } from 'node:path';
import {
  DEFAULT_EXAMPLES,
  WebChat,
  type WebChatOptions,
  type WebThreadDirectory,
} from '../adapters/chat/web/adapter.ts';
import { PLATFORM } from '../adapters/chat/web/thread-id.ts';
import { FileRoundImageStore } from '../adapters/store/files.ts';
import type { SqliteDatabase } from '../adapters/store/sqlite/index.ts';
import type { ConversationEngine } from '../core/engine.ts';
import type { Gallery, Logger, RoundImageStore, ThreadStore } from '../core/ports.ts';
import type { Config } from './config.ts';

/** What the web page needs of a runtime (bots/runtime.ts `Runtime` has all of it). */
export interface WebRuntime {
  engine: ConversationEngine;
  stores: { db: SqliteDatabase; threads: ThreadStore; gallery: Gallery };
  /** The round image store the engine writes to; default: DATA_DIR/rounds, as buildRuntime uses. */
  images?: RoundImageStore;
}

export type WebConfig = Pick<Config, 'WEB_PORT' | 'WEB_HOST' | 'DATA_DIR' | 'GENERATOR'>;

export interface WebServer {
  url: string;
  port: number;
  chat: WebChat;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Web threads in the SQLite thread table, newest first (the ThreadStore port has no listing). */
export function sqliteWebThreads(db: SqliteDatabase): WebThreadDirectory {
  const prefix = `${PLATFORM}:`;
  // Keys between "web:" and "web;" (';' follows ':') — an index range, no LIKE escaping needed.
  const statement = db.connection.prepare<[string, string, number], { key: string }>(
    'SELECT key FROM threads WHERE key >= ? AND key < ? ORDER BY updated_at DESC LIMIT ?',
  );
  return {
    async list(limit) {
      return statement.all(prefix, `${PLATFORM};`, limit).map((r) => r.key);
    },
  };
}

/** Starts the web playground on WEB_HOST:WEB_PORT; the URL is where to open it. */
export async function startWeb(
  rt: WebRuntime,
  config: WebConfig,
  logger: Logger,
  options: WebChatOptions = {},
): Promise<WebServer> {
  const chat = new WebChat(
    {
      engine: rt.engine,
      threads: rt.stores.threads,
      directory: sqliteWebThreads(rt.stores.db),
      gallery: rt.stores.gallery,
      images: rt.images ?? new FileRoundImageStore(join(config.DATA_DIR, 'rounds')),
      logger,
    },
    {
      localOnly: LOOPBACK.has(config.WEB_HOST),
      examples:
        config.GENERATOR === 'sketch'
          ? DEFAULT_EXAMPLES
          : ['the banner with an orange fox', 'a photo of a red bicycle against a brick wall'],
      ...options,
    },
  );
  const { url, port } = await chat.listen(config.WEB_PORT, config.WEB_HOST);
  logger.info({ url }, 'web playground listening');
  return { url, port, chat, stop: () => chat.stop() };
}
