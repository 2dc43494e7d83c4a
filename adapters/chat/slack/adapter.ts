import type { Server } from 'node:http';
import type { AllMiddlewareArgs, App, RespondFn, webApi } from '@slack/bolt';
import { type ActionName, isThreadless } from '../../../commands/index.ts';
import { BoundedSet } from '../../../core/bounded.ts';
import { describeError } from '../../../core/error-text.ts';
import { errorMessage } from '../../../core/errors.ts';
import type { ChatEngine, ChatFrontEnd, Logger, TenantEvents } from '../../../core/ports.ts';
import { tenantId } from '../../../core/tenant.ts';
import type { InboundMessage, ThreadKey, ThreadSink } from '../../../core/types.ts';
import { InFlight } from '../shared/in-flight.ts';
import { collectUploads, type RemoteFile, type Uploads } from '../shared/uploads.ts';
import { checkFileOrigins, SLACK_FILE_ORIGINS } from './file-origins.ts';
import { Gate } from './gate.ts';
import { type RequestListener, startGuardedServer, stopServer } from './http-server.ts';
import {
  clip,
  escapeMrkdwn,
  type SlackDestination,
  SlackRenderer,
  slackHelp,
  unescapeSlack,
} from './renderer.ts';
import { decodeThreadId, encodeThreadId, NO_THREAD, PLATFORM, type SlackThreadId } from './thread-id.ts';

export interface SlackIdentity {
  teamId: string;
  botUserId: string;
  botId?: string;
}

/**
 * The workspace an event came from: its id, the bot's user there, and a Web API client with that
 * workspace's bot token (Bolt's authorize found them: the one token, or the team's installation).
 */
interface SlackTeam {
  teamId: string;
  botUserId: string;
  token: string;
  client: webApi.WebClient;
}

export interface SlackAdapterOptions {
  /** The slash command (as in the app manifest). */
  command?: string;
  /** Minimum ms between posts in one channel (Slack allows about one message per second per channel). */
  postIntervalMs?: number;
  /** Show a progress line while a round runs (one message, edited, removed when the answer is posted). */
  progress?: boolean;
  /**
   * Engine calls (rounds) under way at once (default 4). Rounds do their picture work on the
   * event loop; with hundreds at once the loop falls behind and acknowledgements with it.
   */
  maxConcurrentRounds?: number;
  /** chat.update and chat.delete calls per minute (Slack's Tier 3 is 50+; default 45). */
  tier3PerMinute?: number;
  /** Workspace and bot ids; asked of auth.test when absent. */
  identity?: SlackIdentity;
  maxUploadBytes?: number;
  /**
   * The only origins the bot token is sent to when downloading files people share (default
   * https://files.slack.com); https, except loopback hosts for local fakes.
   */
  fileOrigins?: readonly string[];
  logger?: Logger;
  /**
   * HTTP mode: where to listen (port 0 picks a free one) and Bolt's HTTPReceiver request listener,
   * served behind the body cap and timestamp window of http-server.ts; Socket Mode when absent.
   */
  listen?: { port: number; host?: string; requestListener: RequestListener };
  /** Told when the workspace is served (at start) and when it uninstalls the app or revokes its tokens. */
  tenants?: TenantEvents;
  /**
   * Given: OAuth mode. Any workspace that installed the app is served, each with the bot token and
   * bot user of its installation (Bolt's authorize refuses events of workspaces without one); there
   * is no single identity and no auth.test at start. This gives a client with a workspace's bot
   * token, or null when it has no installation (for answering without an event in hand).
   */
  clientFor?: (teamId: string) => Promise<webApi.WebClient | null>;
}

/** A message-like Slack event (`message` or `app_mention`), as far as this adapter reads it. */
interface SlackMessageEvent {
  type: string;
  subtype?: string;
  channel: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  files?: SlackFile[];
}

/** A file object of a message event, or of files.info. */
interface SlackFile {
  id: string;
  name?: string;
  title?: string;
  mimetype?: string;
  size?: number;
  url_private_download?: string;
  url_private?: string;
  /** "hidden_by_limit": a free workspace over its file limit; Slack shows no content. */
  mode?: string;
  /** "check_file_info": a stub (Slack Connect); files.info has the real file. */
  file_access?: string;
}

interface SlackCommandBody {
  text: string;
  channel_id: string;
  user_id: string;
  trigger_id: string;
}

interface SlackActionBody {
  trigger_id?: string;
  user: { id: string };
  channel?: { id: string };
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string; is_ephemeral?: boolean };
  message?: { ts: string; thread_ts?: string };
}

interface SlackActionPayload {
  type: string;
  action_id: string;
  value?: string;
  action_ts?: string;
  selected_option?: { value: string };
}

/** Message subtypes that are a person speaking; every other subtype (edits, joins, bots…) is ignored. */
const PERSON_SUBTYPES = new Set(['file_share', 'thread_broadcast']);

/** A ThreadSink that also cleans up its progress message when the work is done. */
interface SlackSink extends ThreadSink {
  close(): Promise<void>;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/** Slack's answers when the bot may not post in a conversation (chat.postMessage errors). */
const CANNOT_POST = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action']);
const CANNOT_POST_HERE = 'I cannot post in this conversation.';

const NOT_INSTALLED = 'GenIR is not installed in this workspace.';

/** Slack retries an event not answered within 3 s; this leaves room for the network. */
const ACK_WAIT_MS = 2000;

const errorCode = (err: unknown): string | undefined => (err as { data?: { error?: string } }).data?.error;

/**
 * The Slack front end on a Bolt App: the slash command, mentions, replies in threads that have a
 * search, direct messages, and the round controls. Commands and buttons are acknowledged
 * first and worked on in the background; a message is acknowledged once it is in its thread's
 * inbox (see take()); each person message becomes one engine event whose id
 * ("slack:<channel>:<ts>") is the same for Slack's retries and for the message/app_mention pair.
 */
export class SlackAdapter implements ChatFrontEnd {
  readonly name = 'slack';
  readonly renderer: SlackRenderer;
  /** The HTTP receiver's port once started (HTTP mode). */
  port: number | undefined;
  private server: Server | undefined;
  private readonly inFlight: InFlight;
  /** First come, first served: a thread's events keep their order. */
  private readonly rounds: Gate;
  /** Event ids already taken in by this process; the engine's store is the authority across processes. */
  private readonly seen = new BoundedSet<string>(10_000);
  private readonly command: string;
  private readonly logger: Logger;
  private readonly fileOrigins: readonly string[];
  private identity: SlackIdentity | undefined;
  /** Set by app_uninstalled / tokens_revoked: the workspace's events are refused from then on. */
  private uninstalled = false;

  /** Registers the handlers on `app`; start() connects. */
  constructor(
    readonly app: App,
    private readonly engine: ChatEngine,
    private readonly options: SlackAdapterOptions = {},
  ) {
    this.command = options.command ?? '/genir';
    this.logger = options.logger ?? silent;
    this.inFlight = new InFlight(this.logger, 'slack event failed');
    this.rounds = new Gate(options.maxConcurrentRounds ?? 4);
    this.identity = options.identity;
    this.fileOrigins = checkFileOrigins(options.fileOrigins ?? SLACK_FILE_ORIGINS);
    this.renderer = new SlackRenderer({
      client: app.client,
      command: this.command,
      ...(options.postIntervalMs !== undefined ? { postIntervalMs: options.postIntervalMs } : {}),
      ...(options.tier3PerMinute !== undefined ? { tier3PerMinute: options.tier3PerMinute } : {}),
      logger: this.logger,
    });
    this.register();
  }

  /** OAuth mode: any workspace with an installation is served. */
  get multiWorkspace(): boolean {
    return this.options.clientFor !== undefined;
  }

  get mode(): 'socket' | 'http' {
    return this.options.listen ? 'http' : 'socket';
  }

  /**
   * Checks the bot token (auth.test tells the workspace and the bot's own user), then opens the
   * Socket Mode connection or starts the HTTP receiver. Errors name the setting to fix.
   */
  async start(): Promise<void> {
    try {
      await this.app.init();
      if (!this.multiWorkspace) this.identity ??= await whoAmI(this.app);
    } catch (err) {
      throw new Error(`Slack did not accept SLACK_BOT_TOKEN (${errorMessage(err)}).`);
    }
    if (!this.multiWorkspace) await this.options.tenants?.joined(tenantId(PLATFORM, this.me.teamId));
    const { listen } = this.options;
    if (!listen) {
      try {
        await this.app.start();
      } catch (err) {
        throw new Error(
          `Slack did not open a Socket Mode connection with SLACK_APP_TOKEN (${errorMessage(err)}).`,
        );
      }
    } else {
      const { server, port } = await startGuardedServer(listen.requestListener, listen, {
        logger: this.logger,
      });
      this.server = server;
      this.port = port;
    }
    this.logger.info(
      { mode: this.mode, ...(this.port !== undefined ? { port: this.port } : {}) },
      'slack bot started',
    );
  }

  /** Stops taking events, then lets work in progress and queued posts finish. */
  async stop(): Promise<void> {
    if (this.server) await stopServer(this.server);
    else await this.app.stop();
    this.server = undefined;
    await this.idle();
    await this.renderer.close();
  }

  /** Resolves when every event taken in so far has been answered. */
  async idle(): Promise<void> {
    await this.inFlight.idle();
    await this.engine.idle();
  }

  private track(work: Promise<void>): void {
    void this.inFlight.track(work);
  }

  private get me(): SlackIdentity {
    if (!this.identity) throw new Error('the Slack front end has not been started');
    return this.identity;
  }

  /** The workspace of an event, from what Bolt's authorize put in its context. */
  private teamOf({ context, client }: Pick<AllMiddlewareArgs, 'context' | 'client'>): SlackTeam {
    const teamId = context.teamId ?? context.enterpriseId ?? this.identity?.teamId;
    const botUserId = context.botUserId ?? this.identity?.botUserId;
    if (!teamId || !botUserId) throw new Error('Slack did not say which workspace and bot this event is for');
    // One workspace: the app's own client (the one token) serves every event.
    const api = this.multiWorkspace ? client : this.app.client;
    return { teamId, botUserId, token: context.botToken ?? api.token ?? '', client: api };
  }

  private register(): void {
    const { app } = this;
    // First of all: only our workspace, while the app is installed there. Anything else is refused
    // (a command gets the reason) before any listener runs. In OAuth mode Bolt's authorize has
    // already refused every workspace without an installation.
    app.use(async (args) => {
      const team = args.context.teamId;
      if (this.multiWorkspace) return args.next();
      if (!this.uninstalled && (team === undefined || team === this.identity?.teamId)) return args.next();
      this.logger.warn(
        { team, uninstalled: this.uninstalled },
        'refused an event of a workspace the app is not installed in',
      );
      const ack = (args as { ack?: (text?: string) => Promise<void> }).ack;
      if (ack) await ack(args.body && 'command' in args.body ? NOT_INSTALLED : undefined);
    });
    for (const name of ['app_uninstalled', 'tokens_revoked'] as const) {
      app.event(name, async ({ event, context }) => {
        // tokens_revoked may name only user tokens: the bot (and its installation) stays.
        const bots = (event as { tokens?: { bot?: string[] } }).tokens?.bot;
        if (name === 'tokens_revoked' && !bots?.length) return;
        const team = context.teamId ?? context.enterpriseId ?? this.me.teamId;
        if (!this.multiWorkspace) this.uninstalled = true;
        this.logger.warn({ event: name, team }, 'the workspace removed the app');
        if (this.options.tenants) this.track(this.options.tenants.left(tenantId(PLATFORM, team)));
      });
    }
    app.command(this.command, async (args) => {
      await args.ack();
      this.track(this.onCommand(this.teamOf(args), args.command as SlackCommandBody, args.respond));
    });
    for (const name of ['app_mention', 'message'] as const) {
      app.event(name, (args) => this.take(this.teamOf(args), args.event as unknown as SlackMessageEvent));
    }
    app.action(/^genir/, async (args) => {
      const { ack, body, action, respond } = args;
      await ack();
      this.track(
        this.onAction(
          this.teamOf(args),
          body as unknown as SlackActionBody,
          action as unknown as SlackActionPayload,
          (text) => respond({ response_type: 'ephemeral', replace_original: false, text }).then(() => {}),
        ),
      );
    });
    app.error(async (err) => {
      // OAuth mode: Bolt's authorize found no installation for the event's workspace; no listener ran.
      if (err.code === 'slack_bolt_authorization_error')
        this.logger.warn({ err: err.message }, 'refused an event of a workspace the app is not installed in');
      else this.logger.error({ err }, 'slack app error');
    });
  }

  /**
   * Resolves once the message is in its thread's inbox (or is not for us), at most ACK_WAIT_MS
   * later; the round goes on in the background. In HTTP mode Bolt answers Slack only then
   * (processBeforeResponse), so an instance killed before the message is stored leaves Slack
   * retrying it instead of losing it. The bound keeps the answer inside Slack's 3 seconds: a
   * message not stored by then (a slow file download, a slow database, all round slots busy) is
   * acknowledged anyway, and a crash after that still loses it.
   */
  private take(team: SlackTeam, event: SlackMessageEvent): Promise<void> {
    return new Promise((acknowledge) => {
      const timer = setTimeout(acknowledge, ACK_WAIT_MS);
      const accepted = () => {
        clearTimeout(timer);
        acknowledge();
      };
      this.track(this.onPersonMessage(team, event, accepted).finally(accepted));
    });
  }

  sinkFor(key: ThreadKey, userId: string): ThreadSink | null {
    let id: SlackThreadId;
    try {
      id = decodeThreadId(key);
    } catch {
      return null;
    }
    const dest = {
      channel: id.channel,
      ...(id.threadTs === NO_THREAD ? {} : { threadTs: id.threadTs }),
      userId,
    };
    // No progress line: nothing would remove it once the round is sent.
    const { clientFor } = this.options;
    if (!clientFor) {
      if (id.team !== this.identity?.teamId) return null;
      const sink = this.sink(dest);
      return { send: (reply) => sink.send(reply) };
    }
    // OAuth mode: the workspace's own token, looked up when there is something to send.
    let sink: Promise<SlackSink> | undefined;
    const open = async () => {
      const client = await clientFor(id.team);
      if (!client) throw new Error(`GenIR is not installed in Slack workspace ${id.team}`);
      return this.sink({ ...dest, client });
    };
    return {
      send: async (reply) => {
        sink ??= open();
        await (await sink).send(reply);
      },
    };
  }

  private key(team: SlackTeam, channel: string, threadTs: string): string {
    return encodeThreadId(team.teamId, channel, threadTs);
  }

  /** `/genir <description>`: a root message in the channel, and round 1 in its thread. */
  private async onCommand(team: SlackTeam, command: SlackCommandBody, respond: RespondFn): Promise<void> {
    const text = unescapeSlack(command.text ?? '').trim();
    const tell = async (message: string): Promise<void> => {
      await respond({ response_type: 'ephemeral', text: message }).catch((err: unknown) => {
        this.logger.warn({ err }, 'could not answer the slash command');
      });
    };
    const [first = '', ...rest] = text.split(/\s+/);
    const word = first.toLowerCase();
    if (!text || word === 'help' || word === '?') {
      await tell(slackHelp(this.command));
      return;
    }
    const channel = command.channel_id;
    const client = team.client;
    if (isThreadless(word as ActionName)) {
      // About the person or the server, not a search: answered only to them, through response_url.
      await this.run(
        {
          key: this.key(team, channel, NO_THREAD),
          eventId: `slack:cmd:${command.trigger_id}`,
          userId: command.user_id,
          text: `/${text}`,
        },
        team,
        { channel, client, userId: command.user_id, respond: (message) => tell(message) },
      );
      return;
    }
    const description = word === 'find' ? rest.join(' ') : text;
    if (!description) {
      await tell(slackHelp(this.command));
      return;
    }
    const slowDown = await this.engine.tooFast(this.key(team, channel, NO_THREAD), command.user_id);
    if (slowDown) {
      await tell(slowDown);
      return;
    }
    let rootTs: string;
    try {
      rootTs = await this.renderer.postText(
        { channel, client },
        `:mag: Image search by <@${command.user_id}>: ${clip(escapeMrkdwn(description), 2900)}\n_Reply in this thread to correct me._`,
      );
    } catch (err) {
      const code = errorCode(err);
      await tell(
        code === 'not_in_channel' || code === 'channel_not_found'
          ? `${CANNOT_POST_HERE} Invite me first (\`/invite @genir\`), or use ${this.command} in a channel I am in.`
          : `Slack did not let me start the search here (${code ?? errorMessage(err)}).`,
      );
      return;
    }
    const key = this.key(team, channel, rootTs);
    await this.engine.isForUs(key, true);
    await this.run(
      {
        key,
        eventId: `slack:cmd:${command.trigger_id}`,
        userId: command.user_id,
        text: description,
        startsSearch: true,
      },
      team,
      { channel, client, threadTs: rootTs, userId: command.user_id },
    );
  }

  /**
   * A `message` or `app_mention` event. Handled when it is a person's message and: mentions the
   * bot at the top of a channel (a new search in a thread on it), or is in a thread that has a
   * search (a refinement; a mention in a thread without one starts one there), or is in a DM.
   */
  private async onPersonMessage(
    team: SlackTeam,
    event: SlackMessageEvent,
    accepted: () => void,
  ): Promise<void> {
    if (!event.user || event.bot_id || event.user === team.botUserId) return;
    if (event.subtype && !PERSON_SUBTYPES.has(event.subtype)) return;
    const eventId = `slack:${event.channel}:${event.ts}`;
    if (this.seen.has(eventId)) return;

    const raw = event.text ?? '';
    const mention = new RegExp(`<@${team.botUserId}(\\|[^>]*)?>`, 'g');
    const mentioned = mention.test(raw);
    const isDm = event.channel_type === 'im' || event.channel.startsWith('D');
    const inThread = Boolean(event.thread_ts && event.thread_ts !== event.ts);
    // A message at the top of a channel can only start a search (in a thread on it); DMs are one thread.
    if (!inThread && !isDm && !mentioned) return;
    const threadTs = inThread ? (event.thread_ts as string) : isDm ? NO_THREAD : event.ts;
    const key = this.key(team, event.channel, threadTs);
    if (!(await this.engine.isForUs(key, mentioned || isDm))) return;
    if (this.seen.has(eventId)) return;
    this.seen.add(eventId);
    const startsSearch = !inThread && !isDm;

    const text = unescapeSlack(raw.replace(mention, ' '))
      .replace(/[ \t]+/g, ' ')
      .trim();
    const uploads = event.files?.length ? await this.download(team, event.files) : {};
    await this.run(
      { key, eventId, userId: event.user, text, ...uploads, ...(startsSearch ? { startsSearch } : {}) },
      team,
      {
        channel: event.channel,
        client: team.client,
        ...(threadTs === NO_THREAD ? {} : { threadTs }),
        userId: event.user,
      },
      accepted,
    );
  }

  /**
   * The files of a message: stubs are resolved through files.info, files Slack hides are named
   * with the reason, and the rest are downloaded with the bot token from the allowed origins only.
   */
  private async download(team: SlackTeam, files: readonly SlackFile[]): Promise<Uploads> {
    const remote: RemoteFile[] = [];
    const rejectedFiles: { name: string; reason: string }[] = [];
    for (const stub of files) {
      const f = await this.fileInfo(team, stub).catch((err: unknown) => {
        rejectedFiles.push({
          name: fileName(stub),
          reason: `Slack did not let me read it (${errorCode(err) ?? errorMessage(err)})`,
        });
        return null;
      });
      if (!f) continue;
      if (f.mode === 'hidden_by_limit') {
        rejectedFiles.push({
          name: fileName(f),
          reason: "Slack hides it (this workspace is over its plan's file limit), so I cannot see it",
        });
        continue;
      }
      remote.push({
        name: fileName(f),
        url: f.url_private_download ?? f.url_private ?? '',
        contentType: f.mimetype ?? null,
        size: f.size ?? null,
      });
    }
    const got = await collectUploads(remote, {
      credentials: {
        headers: { Authorization: `Bearer ${team.token}` },
        origins: this.fileOrigins,
        hostName: "Slack's file server",
      },
      ...(this.options.maxUploadBytes ? { maxBytes: this.options.maxUploadBytes } : {}),
    });
    const rejected = [...rejectedFiles, ...(got.rejectedFiles ?? [])];
    return {
      ...(got.images ? { images: got.images } : {}),
      ...(rejected.length ? { rejectedFiles: rejected } : {}),
    };
  }

  /** The whole file object: a `check_file_info` stub (Slack Connect) is asked of files.info. */
  private async fileInfo(team: SlackTeam, f: SlackFile): Promise<SlackFile> {
    if (f.file_access !== 'check_file_info') return f;
    const res = await team.client.files.info({ file: f.id });
    if (!res.file) throw new Error('files.info returned no file');
    return res.file as SlackFile;
  }

  /** A select or button of a round message; `respond` answers through the interaction's response_url. */
  private async onAction(
    team: SlackTeam,
    body: SlackActionBody,
    action: SlackActionPayload,
    respond: (text: string) => Promise<void>,
  ): Promise<void> {
    const actionId =
      action.type === 'static_select' ? action.selected_option?.value : (action.value ?? action.action_id);
    const channel = body.channel?.id ?? body.container?.channel_id;
    const messageTs = body.message?.ts ?? body.container?.message_ts;
    if (!actionId || !channel || !messageTs) return;
    // Round messages live in a thread, or at the top level of a DM conversation.
    const threadTs = body.message?.thread_ts ?? body.container?.thread_ts ?? NO_THREAD;
    const userId = body.user.id;
    const dest: SlackDestination = {
      channel,
      client: team.client,
      ...(threadTs === NO_THREAD ? {} : { threadTs }),
      userId,
    };
    const sink = this.sink(dest, respond);
    try {
      await this.rounds.run(() =>
        this.engine.onAction(
          {
            key: this.key(team, channel, threadTs),
            eventId: `slack:act:${body.trigger_id ?? `${messageTs}:${action.action_ts}:${userId}`}`,
            userId,
            actionId,
            platformAdmin: () => this.workspaceAdmin(team, userId),
          },
          sink,
        ),
      );
    } catch (err) {
      await this.failed(sink, err);
    } finally {
      await sink.close();
    }
  }

  private async run(
    msg: InboundMessage,
    team: SlackTeam,
    dest: SlackDestination,
    accepted?: () => void,
  ): Promise<void> {
    const sink = this.sink(dest);
    try {
      const withAdmin = { ...msg, platformAdmin: () => this.workspaceAdmin(team, msg.userId) };
      await this.rounds.run(() => this.engine.onMessage(withAdmin, sink, accepted ? { accepted } : {}));
    } catch (err) {
      await this.failed(sink, err);
    } finally {
      await sink.close();
    }
  }

  /**
   * Slack's own admin notion: workspace admins and owners (users.info), asked only when someone
   * uses an admin command. If Slack cannot say, the answer is no (and the log says why).
   */
  private async workspaceAdmin(team: SlackTeam, user: string): Promise<boolean> {
    try {
      const res = await team.client.users.info({ user });
      return Boolean(res.user?.is_admin || res.user?.is_owner || res.user?.is_primary_owner);
    } catch (err) {
      this.logger.warn({ err, user }, 'users.info failed; not treating the person as a workspace admin');
      return false;
    }
  }

  /** The engine answers its own errors; this is the last word if it could not. */
  private async failed(sink: SlackSink, err: unknown): Promise<void> {
    this.logger.error({ err }, 'slack event failed');
    await sink
      .send({ kind: 'notice', level: 'error', text: describeError(err).text })
      .catch((sendErr: unknown) => this.logger.warn({ err: sendErr }, 'could not deliver an error notice'));
  }

  /**
   * `fallback` reaches the person when the conversation refuses the bot's posts (not_in_channel,
   * archived…): an interaction's response_url still works there.
   */
  private sink(dest: SlackDestination, fallback?: (text: string) => Promise<void>): SlackSink {
    const renderer = this.renderer;
    const warn = (what: string) => (err: unknown) => this.logger.warn({ channel: dest.channel, err }, what);
    let status: string | null = null;
    let chain: Promise<void> = Promise.resolve();
    const clear = async () => {
      await chain;
      if (!status) return;
      const ts = status;
      status = null;
      await renderer.deleteMessage(dest, ts).catch(warn('could not remove the progress line'));
    };
    const showProgress = this.options.progress ?? true;
    // The progress line goes while the reply is posted: its chat.delete may wait for budget.
    let clearing: Promise<void> = Promise.resolve();
    let refused: unknown = null;
    return {
      send: async (reply) => {
        // Once the conversation refused a post, the rest would be refused too: no more calls.
        if (refused) throw refused;
        clearing = clear();
        try {
          await renderer.render(reply, dest);
        } catch (err) {
          const code = errorCode(err);
          if (!code || !CANNOT_POST.has(code)) throw err;
          refused = err;
          this.logger.warn(
            { channel: dest.channel, code },
            'slack: cannot post in this conversation; invite the bot (/invite @genir)',
          );
          await fallback?.(`${CANNOT_POST_HERE} Invite me (\`/invite @genir\`) and try again.`).catch(
            warn('could not tell the person through response_url'),
          );
          throw err;
        }
      },
      progress: (text) => {
        if (!showProgress) return;
        const line = `:hourglass_flowing_sand: _${escapeMrkdwn(text)}_`;
        // Not awaited by the engine: the round goes on while the line is posted.
        chain = chain
          .then(async () => {
            if (status) await renderer.updateProgress(dest, status, line);
            else status = await renderer.postText(dest, line);
          })
          .catch(warn('could not post a progress line'));
      },
      close: async () => {
        await clearing;
        await clear();
      },
    };
  }
}

const fileName = (f: SlackFile): string => f.name ?? f.title ?? f.id;

async function whoAmI(app: App): Promise<SlackIdentity> {
  const res = await app.client.auth.test();
  if (!res.team_id || !res.user_id)
    throw new Error('auth.test did not say which workspace and bot user this token is for');
  return { teamId: res.team_id, botUserId: res.user_id, ...(res.bot_id ? { botId: res.bot_id } : {}) };
}
