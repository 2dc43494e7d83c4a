import type { AppOptions, Logger as BoltLogger, HTTPReceiver, LogLevel, webApi } from '@slack/bolt';
import type { SlackAdapter } from '../adapters/chat/slack/adapter.ts';
import type { Logger, TenantInstallations } from '../core/ports.ts';
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

/** Where the OAuth install link and Slack's redirect back are served (the manifest's redirect URL). */
/**
 * Slack gets its answer once the listeners return: a message listener returns once the message is
 * stored (SlackAdapter.take), so a crash before that leaves Slack retrying it.
 */
const ACK_AFTER_LISTENERS = true;

export const INSTALL_PATH = '/slack/install';
export const REDIRECT_PATH = '/slack/oauth_redirect';

/**
 * OAuth mode (SLACK_CLIENT_ID…): Bolt's installer on the HTTP receiver. /slack/install sends the
 * person to Slack with a signed state (also set as a cookie, both checked on the way back);
 * /slack/oauth_redirect exchanges the code (oauth.v2.access) and stores the installation as the
 * tenant's record; each event is then authorized with its workspace's installation.
 */
async function oauthReceiver(
  config: Config,
  tenants: TenantInstallations,
  logger: BoltLogger,
  clientOptions: webApi.WebClientOptions,
  ours: Logger,
): Promise<{ receiver: HTTPReceiver; clientFor: (team: string) => Promise<webApi.WebClient | null> }> {
  const [{ HTTPReceiver, webApi: web }, { tenantInstallationStore, botTokenOf, BOT_SCOPES }, { oauthPages }] =
    await Promise.all([
      import('@slack/bolt'),
      import('../adapters/chat/slack/installation-store.ts'),
      import('../adapters/chat/slack/oauth-pages.ts'),
    ]);
  const receiver = new HTTPReceiver({
    signingSecret: required(config, 'SLACK_SIGNING_SECRET'),
    processBeforeResponse: ACK_AFTER_LISTENERS,
    clientId: required(config, 'SLACK_CLIENT_ID'),
    clientSecret: required(config, 'SLACK_CLIENT_SECRET'),
    stateSecret: required(config, 'SLACK_STATE_SECRET'),
    scopes: [...BOT_SCOPES],
    installationStore: tenantInstallationStore(tenants),
    installerOptions: {
      installPath: INSTALL_PATH,
      redirectUriPath: REDIRECT_PATH,
      stateVerification: true,
      // The install page is a redirect to Slack: no intermediate "Add to Slack" page.
      directInstall: true,
      callbackOptions: oauthPages(INSTALL_PATH, ours),
      clientOptions,
    },
    logger,
  });
  // For answering a thread without an event in hand (messages another instance accepted).
  const clientFor = async (team: string) => {
    const token = await botTokenOf(tenants, team);
    return token ? new web.WebClient(token, clientOptions) : null;
  };
  return { receiver, clientFor };
}

/**
 * The Slack front end: Socket Mode when SLACK_APP_TOKEN is set, otherwise the HTTP receiver
 * (signed requests, SLACK_SIGNING_SECRET) on SLACK_PORT at /slack/events; with SLACK_CLIENT_ID,
 * OAuth mode (any number of workspaces, each installing at /slack/install).
 */
export async function createSlackFrontEnd(
  deps: Pick<FrontEndDeps, 'engine' | 'config' | 'logger' | 'tenants'>,
  overrides: SlackBotOverrides = {},
): Promise<SlackAdapter> {
  const { engine, config, logger, tenants } = deps;
  const oauth = config.SLACK_CLIENT_ID !== undefined;
  const socket = !oauth && Boolean(config.SLACK_APP_TOKEN);
  const [{ App, HTTPReceiver }, { SlackAdapter }] = await Promise.all([
    import('@slack/bolt'),
    import('../adapters/chat/slack/adapter.ts'),
  ]);
  const clientOptions = slackClientOptions(config, overrides.clientOptions);
  const bolt = boltLogger(logger, config);
  const common: AppOptions = {
    ...(oauth ? {} : { token: required(config, 'SLACK_BOT_TOKEN') }),
    clientOptions,
    logger: bolt,
    deferInitialization: true,
  };
  if (oauth && !tenants) throw new Error('Slack OAuth mode needs the tenant store for its installations');
  const installs =
    oauth && tenants ? await oauthReceiver(config, tenants, bolt, clientOptions, logger) : null;
  // HTTP mode: the adapter serves this receiver's listener from its own server (body cap, timestamp window).
  const receiver =
    installs?.receiver ??
    (socket
      ? undefined
      : new HTTPReceiver({
          signingSecret: required(config, 'SLACK_SIGNING_SECRET'),
          logger: bolt,
          processBeforeResponse: ACK_AFTER_LISTENERS,
        }));
  const app = new App(
    receiver
      ? { ...common, receiver }
      : { ...common, socketMode: true, appToken: config.SLACK_APP_TOKEN as string },
  );
  return new SlackAdapter(app, engine, {
    logger,
    ...(tenants ? { tenants } : {}),
    ...(installs ? { clientFor: installs.clientFor } : {}),
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
  configured: (config) => Boolean(config.SLACK_BOT_TOKEN || config.SLACK_CLIENT_ID),
  create: (deps) => createSlackFrontEnd(deps),
  describe: (slack) =>
    slack.multiWorkspace
      ? `GenIR is running on Slack; workspaces install it at https://<your host>${INSTALL_PATH} (port ${slack.port}). Ctrl+C to stop.`
      : 'GenIR is running on Slack (Ctrl+C to stop).',
};
