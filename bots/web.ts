import { DEFAULT_EXAMPLES, WebChat, type WebChatOptions } from '../adapters/chat/web/adapter.ts';
import type { ConversationEngine } from '../core/engine.ts';
import type { Gallery, Logger, RoundImageStore, ThreadStore } from '../core/ports.ts';
import type { Config } from './config.ts';

/** What the web page needs of a runtime (bots/runtime.ts `Runtime` has all of it). */
export interface WebRuntime {
  engine: ConversationEngine;
  stores: { threads: ThreadStore };
  gallery: Gallery;
  images: RoundImageStore;
}

export type WebConfig = Pick<Config, 'WEB_PORT' | 'WEB_HOST' | 'GENERATOR'>;

export interface WebServer {
  url: string;
  port: number;
  chat: WebChat;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

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
      gallery: rt.gallery,
      images: rt.images,
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
