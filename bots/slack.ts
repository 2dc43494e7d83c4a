import type { AppOptions, Logger as BoltLogger, LogLevel, webApi } from '@slack/bolt';
import type { SlackAdapter } from '../adapters/chat/slack/adapter.ts';
import type { Logger } from '../core/ports.ts';
import { type Config, required } from './config.ts';
import type { FrontEndDeps, FrontEndFactory } from './front-ends.ts';

/** Knobs tests turn; production uses the defaults. */
export interface SlackBotOverrides {
  /** Merged into the Web API client options (e.g. a faster retry policy). */
  clientOptions?: Partial<webApi.WebClientOptions>;
  /** Minimum ms between posts in one channel (default 1000: Slack's one message per second per channel). */
  postIntervalMs?: number;
  /** Interface the HTTP receiver listens on (default: all). */
  host?: string;
  /** Progress lines while a round runs (default on). */
  progress?: boolean;
  /** Origins the bot token may be sent to for file downloads (default https://files.slack.com). */
  fileOrigins?: readonly string[];
  /** chat.update / chat.delete calls per minute (default 45, under Slack's Tier 3). */
  tier3PerMinute?: number;
  /** Rounds under way at once (default 4). */
  maxConcurrentRounds?: number;
}

/**
 * Web API client options: bounded retries with jitter on 5xx and network errors. A 429 is thrown
 * at once (rejectRateLimitedCalls): otherwise the client pauses its whole queue, every channel's
 * posts with it, for the Retry-After; the renderer decides per call (wait and retry a round's
 * post, drop a progress edit). Every call has a timeout.
 */
export function slackClientOptions(
  config: Config,
  overrides: Partial<webApi.WebClientOptions> = {},
): webApi.WebClientOptions {
  return {
    ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
    retryConfig: { retries: 5, factor: 2, minTimeout: 1000, maxTimeout: 30_000, randomize: true },
    rejectRateLimitedCalls: true,
    timeout: 30_000,
    ...overrides,
  };
}

/** Bolt's logger interface on top of ours; debug lines are dropped unless LOG_LEVEL asks for them. */
export function boltLogger(
  logger: Logger & { debug?: (obj: object, msg?: string) => void },
  config: Config,
): BoltLogger {
  const debug = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace';
  // LogLevel's values are these strings; the enum itself would load Bolt.
  let level = (debug ? 'debug' : 'info') as LogLevel;
  const line = (msg: unknown[]) =>
    msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : String(m))).join(' ');
  return {
    debug: (...msg) => {
      if (debug) logger.debug?.({ component: 'slack' }, line(msg));
    },
    info: (...msg) => logger.info({ component: 'slack' }, line(msg)),
    warn: (...msg) => logger.warn({ component: 'slack' }, line(msg)),
    error: (...msg) => logger.error({ component: 'slack' }, line(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/**
 * The Slack front end: Socket Mode when SLACK_APP_TOKEN is set, otherwise the HTTP receiver
 * (signed requests, SLACK_SIGNING_SECRET) on SLACK_PORT at /slack/events.
 */
export async function createSlackFrontEnd(
  deps: Pick<FrontEndDeps, 'engine' | 'config' | 'logger' | 'tenants'>,
  overrides: SlackBotOverrides = {},
): Promise<SlackAdapter> {
  const { engine, config, logger, tenants } = deps;
  const token = required(config, 'SLACK_BOT_TOKEN');
  const socket = Boolean(config.SLACK_APP_TOKEN);
  const [{ App, HTTPReceiver }, { SlackAdapter }] = await Promise.all([
    import('@slack/bolt'),
    import('../adapters/chat/slack/adapter.ts'),
  ]);
  const common: AppOptions = {
    token,
    clientOptions: slackClientOptions(config, overrides.clientOptions),
    logger: boltLogger(logger, config),
    deferInitialization: true,
  };
  // HTTP mode: the adapter serves this receiver's listener from its own server (body cap, timestamp window).
  const receiver = socket
    ? undefined
    : new HTTPReceiver({
        signingSecret: required(config, 'SLACK_SIGNING_SECRET'),
        logger: common.logger,
        // Slack gets its answer once the listeners return: a message listener returns once the
        // message is stored (SlackAdapter.take), so a crash before that leaves Slack retrying it.
        processBeforeResponse: true,
      });
  const app = new App(
    receiver
      ? { ...common, receiver }
      : { ...common, socketMode: true, appToken: config.SLACK_APP_TOKEN as string },
  );
  return new SlackAdapter(app, engine, {
    logger,
    ...(tenants ? { tenants } : {}),
    ...(receiver
      ? {
          listen: {
            port: config.SLACK_PORT,
            ...(overrides.host ? { host: overrides.host } : {}),
            requestListener: receiver.requestListener,
          },
        }
      : {}),
    ...(overrides.postIntervalMs !== undefined ? { postIntervalMs: overrides.postIntervalMs } : {}),
    ...(overrides.progress !== undefined ? { progress: overrides.progress } : {}),
    fileOrigins: overrides.fileOrigins ?? config.SLACK_FILE_ORIGINS,
    ...(overrides.tier3PerMinute !== undefined ? { tier3PerMinute: overrides.tier3PerMinute } : {}),
    ...(overrides.maxConcurrentRounds !== undefined
      ? { maxConcurrentRounds: overrides.maxConcurrentRounds }
      : {}),
  });
}

export const slackFrontEnd: FrontEndFactory<SlackAdapter> = {
  name: 'slack',
  configured: (config) => Boolean(config.SLACK_BOT_TOKEN),
  create: (deps) => createSlackFrontEnd(deps),
  describe: () => 'GenIR is running on Slack (Ctrl+C to stop).',
};
