import { once } from 'node:events';
import {
  type AnyThreadChannel,
  type ButtonInteraction,
  ChannelType,
  type ChatInputCommandInteraction,
  Client,
  type ClientOptions,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  type Message,
  MessageFlags,
  PermissionFlagsBits,
  PermissionsBitField,
  RESTJSONErrorCodes,
  type RepliableInteraction,
  SnowflakeUtil,
  type StringSelectMenuInteraction,
  type TextBasedChannel,
  ThreadAutoArchiveDuration,
} from 'discord.js';
import { encodeActionId, helpText, isThreadless, LATEST } from '../../../commands/index.ts';
import { BoundedMap, BoundedSet } from '../../../core/bounded.ts';
import { describeError } from '../../../core/error-text.ts';
import { errorMessage } from '../../../core/errors.ts';
import type { ChatEngine, ChatFrontEnd, Logger, TenantEvents } from '../../../core/ports.ts';
import { tenantId } from '../../../core/tenant.ts';
import type { InboundMessage, Reply, ThreadKey, ThreadSink, ThreadState } from '../../../core/types.ts';
import { InFlight } from '../shared/in-flight.ts';
import { threadTitle } from '../shared/text.ts';
import { collectUploads } from '../shared/uploads.ts';
import { FIND_COMMAND, GROUP_COMMAND, groupAction } from './commands.ts';
import {
  type DiscordPayload,
  escapeText,
  LIMITS,
  NO_MENTIONS,
  renderNotice,
  renderReply,
  renderText,
} from './renderer.ts';
import { decodeThreadId, encodeThreadId, PLATFORM } from './thread-id.ts';

export interface DiscordAdapterOptions {
  token: string;
  applicationId: string;
  /** Channels where any message (not only a mention) starts a search. */
  allowedChannelIds?: readonly string[];
  /** REST base URL (default Discord's, https://discord.com/api); the gateway URL comes from GET /gateway/bot. */
  apiUrl?: string;
  logger?: Logger;
  /** How often the typing indicator is renewed while a round runs (Discord shows it for ~10 s). */
  typingIntervalMs?: number;
  /** Upload limits for images people attach (defaults: adapters/chat/shared/uploads.ts). */
  uploads?: { maxBytes?: number; timeoutMs?: number };
  /** Extra discord.js client options, merged over the adapter's. */
  clientOptions?: Partial<ClientOptions>;
  /** Told when a guild adds the bot (guildCreate) or removes it (guildDelete). */
  tenants?: TenantEvents;
}

/** What the bot needs in a channel: read, post in threads it starts, attach the pictures, embed them. */
export const BOT_PERMISSIONS = new PermissionsBitField([
  PermissionFlagsBits.ViewChannel,
  PermissionFlagsBits.SendMessages,
  PermissionFlagsBits.SendMessagesInThreads,
  PermissionFlagsBits.CreatePublicThreads,
  PermissionFlagsBits.EmbedLinks,
  PermissionFlagsBits.AttachFiles,
  PermissionFlagsBits.ReadMessageHistory,
]);

/** The URL a server admin opens to add the bot with its slash commands and permissions. */
export function inviteUrl(applicationId: string): string {
  const q = new URLSearchParams({
    client_id: applicationId,
    scope: 'bot applications.commands',
    permissions: BOT_PERMISSIONS.bitfield.toString(),
  });
  return `https://discord.com/oauth2/authorize?${q}`;
}

/** The intents the bot needs; Message Content is privileged and must be enabled in the developer portal. */
export const INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
];

const silent: Logger = { info() {}, warn() {}, error() {} };

const THREAD_PERMISSIONS_HINT =
  'I need the "Create Public Threads", "Send Messages in Threads", "Attach Files" and "Embed Links" permissions in this channel.';

type SearchThread = AnyThreadChannel;

/**
 * Discord front end: `/find`, mentions and (optionally) every message in allow-listed channels start a
 * search in a thread; later messages in the thread refine it; menus and buttons on round posts act on it.
 * The engine owns all state; this class only translates events and renders replies.
 */
export class DiscordAdapter implements ChatFrontEnd {
  readonly name = 'discord';
  readonly client: Client;
  private readonly log: Logger;
  private readonly allowed: Set<string>;
  /** Per-channel chains so that events of one thread reach the engine in gateway order. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight: InFlight;
  /** Messages taken in (from the gateway or a catch-up): each is handled once. */
  private readonly seen = new BoundedSet<string>(10_000);
  /** The newest message seen in each thread, and anywhere: where a catch-up starts. */
  private readonly lastSeen = new BoundedMap<string, string>(10_000);
  private newestSeen = SnowflakeUtil.generate().toString();
  private sessions = 0;
  /**
   * Messages that arrive while the connection is being restored wait here, so that a catch-up
   * hands over the missed ones first and starts from what was seen before the connection was lost.
   */
  private held: Message[] | null = null;

  constructor(
    private readonly engine: ChatEngine,
    private readonly options: DiscordAdapterOptions,
  ) {
    this.log = options.logger ?? silent;
    this.inFlight = new InFlight(this.log, 'discord event failed');
    this.allowed = new Set(options.allowedChannelIds ?? []);
    const { rest, ...extra } = options.clientOptions ?? {};
    this.client = new Client({
      intents: INTENTS,
      // Default for every message the client sends; each payload also sets it explicitly.
      allowedMentions: NO_MENTIONS,
      rest: { ...(options.apiUrl ? { api: options.apiUrl } : {}), ...rest },
      ...extra,
    });
    this.client.on(Events.MessageCreate, (m) => this.take(m));
    // guildCreate also fires for every guild at connect: joined() is idempotent. A guild that is
    // only unavailable (an outage) emits guildUnavailable, not guildDelete.
    this.client.on(Events.GuildCreate, (g) => this.tenantEvent('joined', g.id));
    this.client.on(Events.GuildDelete, (g) => this.tenantEvent('left', g.id));
    // From a lost connection until the session is back, messages wait (see `held`). A resumed
    // session replays what was missed; a READY after the first one is a new session, which does not.
    this.client.on(Events.ShardReconnecting, () => {
      this.held ??= [];
    });
    this.client.on(Events.ShardResume, () => this.release());
    this.client.on(Events.ShardReady, (shard) => {
      if (this.sessions++ > 0) this.inFlight.track(this.catchUp(), { shard, what: 'catch-up' });
    });
    this.client.on(Events.InteractionCreate, (i) =>
      this.inFlight.track(this.onInteraction(i), { eventId: i.id }),
    );
    this.client.on(Events.Error, (err) => this.log.error({ err }, 'discord client error'));
    this.client.on(Events.ShardDisconnect, (_e, shard) =>
      this.log.warn({ shard }, 'discord gateway disconnected'),
    );
    this.client.on(Events.ShardResume, (shard) => this.log.info({ shard }, 'discord gateway resumed'));
  }

  /**
   * Logs in and resolves once the gateway session is ready. Rejects with a message naming the
   * problem (never the token) when it cannot log in, and leaves no connection behind.
   */
  async start(): Promise<void> {
    const ready = once(this.client, Events.ClientReady);
    try {
      await this.client.login(this.options.token);
      await ready;
    } catch (err) {
      await this.client.destroy().catch(() => {});
      if (/disallowed intent/i.test(errorMessage(err))) {
        throw new Error(
          'Discord refused the Message Content intent: turn on "Message Content Intent" on the Bot page of the Developer Portal (see docs/discord.md).',
        );
      }
      throw new Error(`Discord bot could not start: ${errorMessage(err)}`);
    }
    const user = this.client.user;
    if (user?.id && user.id !== this.options.applicationId) {
      this.log.warn(
        { botUser: user.id, applicationId: this.options.applicationId },
        'DISCORD_APPLICATION_ID is not the id of the bot the token belongs to; slash commands may not reach it',
      );
    }
    // Guilds the session starts with emit no guildCreate: they are joined as of now too.
    for (const id of this.client.guilds.cache.keys()) this.tenantEvent('joined', id);
    const invite = inviteUrl(this.options.applicationId);
    this.log.info({ user: user?.tag, guilds: this.client.guilds.cache.size, invite }, 'discord bot ready');
  }

  /** Waits (at most `graceMs`) for events being handled, then closes the gateway connection. */
  async stop(graceMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([this.idle().then(() => 'idle' as const), grace]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.log.warn({ graceMs }, 'stopping with rounds still running');
    await this.client.destroy();
  }

  /** Resolves once every event received so far has been handled (and the engine is idle). */
  async idle(): Promise<void> {
    await this.inFlight.idle();
    await this.engine.idle();
  }

  /**
   * Runs `hand` after the hand-offs of earlier events of the same channel, so that they reach the
   * engine in gateway order even when preparing one (e.g. downloading an upload) takes longer.
   * `hand` returns the engine's promise wrapped, so the chain does not wait for whole rounds
   * (the engine queues and merges those itself); the returned promise is the engine's.
   */
  private async inOrder(
    channelId: string,
    hand: () => Promise<{ done: Promise<void> } | null>,
  ): Promise<void> {
    const prev = this.chains.get(channelId) ?? Promise.resolve();
    const step = prev.then(hand);
    const tail = step.then(
      () => {},
      () => {},
    );
    this.chains.set(channelId, tail);
    void tail.then(() => {
      if (this.chains.get(channelId) === tail) this.chains.delete(channelId);
    });
    const handed = await step;
    await handed?.done;
  }

  /** The interaction's channel, fetched when the cache does not have it (e.g. after a restart). */
  private async channelOf(i: {
    channel: TextBasedChannel | null;
    channelId: string | null;
  }): Promise<TextBasedChannel | null> {
    if (i.channel) return i.channel;
    if (!i.channelId) return null;
    const fetched = await this.client.channels.fetch(i.channelId).catch(() => null);
    return fetched?.isTextBased() ? fetched : null;
  }

  private tenantEvent(kind: 'joined' | 'left', guildId: string): void {
    const tenants = this.options.tenants;
    if (!tenants) return;
    const tenant = tenantId(PLATFORM, guildId);
    this.log.info({ tenant, event: kind }, kind === 'joined' ? 'added to a guild' : 'removed from a guild');
    this.inFlight.track(tenants[kind](tenant), { tenant, what: kind });
  }

  /**
   * Events only count from guilds the bot is in (the gateway told us so): anything naming another
   * guild is refused, so no one can reach a tenant's data by naming its id.
   */
  private ours(guildId: string): boolean {
    if (this.client.guilds.cache.has(guildId)) return true;
    this.log.warn({ guild: guildId }, 'ignored an event from a guild the bot is not in');
    return false;
  }

  /** The key of a channel's own conversation (commands used outside a thread; rate limits before one exists). */
  private channelKey(guild: string, channel: string): ThreadKey {
    return encodeThreadId({ guild, channel, thread: channel });
  }

  private keyOf(thread: SearchThread): ThreadKey {
    return encodeThreadId({
      guild: thread.guildId,
      channel: thread.parentId ?? thread.id,
      thread: thread.id,
    });
  }

  private get botId(): string {
    return this.client.user?.id ?? this.options.applicationId;
  }

  // ── messages ────────────────────────────────────────────────────────────────────────────────

  private take(message: Message): void {
    if (this.held) this.held.push(message);
    else this.handle(message);
  }

  private handle(message: Message): void {
    if (this.seen.has(message.id)) return;
    this.seen.add(message.id);
    const last = this.lastSeen.get(message.channelId);
    if (!last || BigInt(message.id) > BigInt(last)) this.lastSeen.set(message.channelId, message.id);
    if (BigInt(message.id) > BigInt(this.newestSeen)) this.newestSeen = message.id;
    this.inFlight.track(this.onMessage(message), { eventId: message.id });
  }

  /** Hands over the messages held while the connection was restored. */
  private release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const m of held) this.handle(m);
  }

  /**
   * After a session that could not be resumed (Invalid Session, or a reconnect past the resume
   * window) the gateway never delivers what was said meanwhile. Fetches, in the most recently used
   * search threads, the messages after the newest one seen there (or anywhere, for a thread where
   * none was seen) and takes them in oldest first, as the gateway would have delivered them.
   */
  private async catchUp(): Promise<void> {
    this.held ??= [];
    let fetched = 0;
    try {
      fetched = await this.fetchMissed(await this.engine.threads(`${PLATFORM}:`, CATCH_UP_THREADS));
    } finally {
      this.release();
    }
    this.log.info({ fetched }, 'discord session renewed; fetched the messages missed meanwhile');
  }

  /** Takes in the messages after the newest one seen in each thread; returns how many it fetched. */
  private async fetchMissed(states: readonly ThreadState[]): Promise<number> {
    let fetched = 0;
    for (const state of states) {
      const { thread: id } = decodeThreadId(state.key);
      const after = this.lastSeen.get(id) ?? this.newestSeen;
      try {
        const channel = await this.client.channels.fetch(id);
        if (!channel?.isThread()) continue;
        const missed = await channel.messages.fetch({ after, limit: 100 });
        const ordered = [...missed.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
        for (const m of ordered) this.handle(m);
        fetched += ordered.length;
      } catch (err) {
        this.log.warn({ thread: id, err }, 'could not fetch the messages missed in a thread');
      }
    }
    return fetched;
  }

  private async onMessage(message: Message): Promise<void> {
    if (message.author.bot || message.webhookId || message.system || !message.inGuild()) return;
    if (!this.ours(message.guildId)) return;
    const channel = message.channel;
    const mentioned = message.mentions.users.has(this.botId);
    if (channel.isThread()) {
      // Decide whether the thread is a search and fetch uploads in order, then hand over to the engine.
      await this.inOrder(channel.id, async () => {
        const key = this.keyOf(channel);
        // The bot's own threads are addressed to it; elsewhere only a mention is.
        if (!(await this.engine.isForUs(key, mentioned || channel.ownerId === this.botId))) return null;
        const msg = await this.inbound(message, key);
        return { done: this.runMessage(msg, channel) };
      });
      return;
    }
    if (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement) return;
    if (!mentioned && !this.allowed.has(channel.id)) return;

    const text = this.messageText(message);
    if (!text && message.attachments.size === 0) {
      await message.reply(renderNotice(helpText()));
      return;
    }
    const slowDown = await this.engine.tooFast(
      this.channelKey(message.guildId, channel.id),
      message.author.id,
    );
    if (slowDown) {
      await message.reply(renderText(slowDown));
      return;
    }
    let thread: SearchThread;
    try {
      thread = await message.startThread({
        name: threadTitle(text || 'Image search', LIMITS.threadName),
        autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
      });
    } catch (err) {
      this.log.warn({ channel: channel.id, err }, 'could not start a thread');
      await message
        .reply(
          renderText(
            `I could not start a thread for this search (${apiReason(err)}). ${THREAD_PERMISSIONS_HINT}`,
          ),
        )
        .catch((e: unknown) => this.log.warn({ err: e }, 'could not explain the failed thread'));
      return;
    }
    const key = this.keyOf(thread);
    await this.engine.isForUs(key, true);
    const msg = await this.inbound(message, key, true);
    await this.runMessage(msg, thread);
  }

  /** The engine resolves when the message's round is done; the returned promise is that. */
  private runMessage(msg: InboundMessage, thread: SearchThread): Promise<void> {
    const sink = new DiscordThreadSink(thread, this.log, { typingIntervalMs: this.options.typingIntervalMs });
    return this.engine.onMessage(msg, sink).finally(() => sink.close());
  }

  private async inbound(
    message: Message<true>,
    key: ThreadKey,
    startsSearch = false,
  ): Promise<InboundMessage> {
    const files = [...message.attachments.values()].map((a) => ({
      name: a.name,
      url: a.url,
      contentType: a.contentType,
      size: a.size,
    }));
    const uploads = files.length ? await collectUploads(files, this.options.uploads ?? {}) : {};
    return {
      key,
      eventId: message.id,
      userId: message.author.id,
      text: this.messageText(message),
      platformAdmin: async () => message.member?.permissions.has(PermissionFlagsBits.ManageGuild) ?? false,
      ...uploads,
      ...(startsSearch ? { startsSearch } : {}),
    };
  }

  /** The message text without the bot's mention; other mentions become readable names. */
  private messageText(message: Message<true>): string {
    const id = this.botId;
    return message.content
      .replace(new RegExp(`<@!?${id}>`, 'g'), ' ')
      .replace(/<@!?(\d+)>/g, (m, uid: string) => {
        const member = message.mentions.members?.get(uid);
        const user = message.mentions.users.get(uid);
        return member ? `@${member.displayName}` : user ? `@${user.displayName}` : m;
      })
      .replace(/<@&(\d+)>/g, (m, rid: string) => {
        const role = message.mentions.roles.get(rid);
        return role ? `@${role.name}` : m;
      })
      .replace(/<#(\d+)>/g, (m, cid: string) => {
        const ch = message.guild.channels.cache.get(cid);
        return ch ? `#${ch.name}` : m;
      })
      .replace(/[ \t]+/g, ' ')
      .trim();
  }

  // ── interactions ────────────────────────────────────────────────────────────────────────────

  private async onInteraction(i: Interaction): Promise<void> {
    if (i.inGuild() && !this.ours(i.guildId)) {
      if (i.isRepliable())
        await i.reply({ ...renderText(NOT_OUR_GUILD), flags: MessageFlags.Ephemeral }).catch(() => {});
      return;
    }
    try {
      if (i.isChatInputCommand()) {
        if (i.commandName === FIND_COMMAND) return await this.onFind(i);
        if (i.commandName === GROUP_COMMAND) return await this.onGroup(i);
        await i.reply({ ...renderText('I do not know that command.'), flags: MessageFlags.Ephemeral });
        return;
      }
      if (i.isButton() || i.isStringSelectMenu()) return await this.onComponent(i);
    } catch (err) {
      this.log.error({ interaction: i.id, err }, 'interaction failed');
      if (i.isRepliable()) await this.answerFailure(i, err);
    }
  }

  private async answerFailure(i: RepliableInteraction, err: unknown): Promise<void> {
    const payload = {
      ...renderText(`⚠️ ${refusal(err) ?? failure(err)}`),
      flags: MessageFlags.Ephemeral,
    } as const;
    try {
      if (i.deferred || i.replied) await i.followUp(payload);
      else await i.reply(payload);
    } catch (e) {
      this.log.warn({ err: e }, 'could not report an interaction failure');
    }
  }

  /** `/find description:<text>`: a thread (from the reply, or the thread it is used in) and round 1. */
  private async onFind(i: ChatInputCommandInteraction): Promise<void> {
    const refuse = (text: string) => i.reply({ ...renderText(text), flags: MessageFlags.Ephemeral });
    if (!i.inGuild()) {
      await refuse('Use /find in a server text channel or one of its threads.');
      return;
    }
    const slowDown = await this.engine.tooFast(this.channelKey(i.guildId, i.channelId), i.user.id);
    if (slowDown) {
      await refuse(slowDown);
      return;
    }
    await i.deferReply();
    const channel = await this.channelOf(i);
    const description = i.options.getString(FIND_ARG, true);
    const header = `🔎 ${escapeText(description.replace(/\s+/g, ' ').trim())}`;
    let thread: SearchThread;
    if (channel?.isThread()) {
      thread = channel;
      await i.editReply(renderText(header));
    } else if (channel?.type === ChannelType.GuildText || channel?.type === ChannelType.GuildAnnouncement) {
      const starter = await i.editReply(renderText(header));
      try {
        thread = await channel.threads.create({
          name: threadTitle(description, LIMITS.threadName),
          startMessage: starter.id,
          autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
        });
      } catch (err) {
        this.log.warn({ channel: channel.id, err }, 'could not start a thread');
        await i.editReply(
          renderText(
            `${header}\n⚠️ I could not start a thread (${apiReason(err)}). ${THREAD_PERMISSIONS_HINT}`,
          ),
        );
        return;
      }
    } else {
      await i.editReply(renderText('I can only search in server text channels and their threads.'));
      return;
    }
    const line = new InteractionReply(i, header, this.log);
    const sink = new DiscordThreadSink(thread, this.log, {
      typingIntervalMs: this.options.typingIntervalMs,
      ephemeral: (p) => line.privately(p),
      progress: (text) => line.set(`${header}\n-# ⏳ ${text}`),
    });
    const key = this.keyOf(thread);
    await this.engine.isForUs(key, true);
    const msg: InboundMessage = {
      key,
      eventId: i.id,
      userId: i.user.id,
      text: description,
      startsSearch: true,
    };
    try {
      await this.inOrder(thread.id, async () => ({ done: this.engine.onMessage(msg, sink) }));
    } finally {
      sink.close();
      await line.set(header);
    }
  }

  /**
   * `/genir <command> [arg]`: acts on the latest round of the thread it is used in. Commands about the
   * person or the server (forget, status, export, help) also work outside threads. Answers meant for the
   * person (stale, errors, help) replace the ephemeral deferred reply; rounds go to the thread.
   */
  private async onGroup(i: ChatInputCommandInteraction): Promise<void> {
    const a = groupAction(i.options.getSubcommand());
    if (!a) {
      await i.reply({ ...renderText('I do not know that command.'), flags: MessageFlags.Ephemeral });
      return;
    }
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    const channel = await this.channelOf(i);
    const inThread = channel?.isThread() ? channel : null;
    if (!i.inGuild() || !channel || (!inThread && !isThreadless(a.action) && a.action !== 'help')) {
      await i.editReply(renderText('Use this inside a search thread (start one with /find).'));
      return;
    }
    const raw =
      a.arg?.kind === 'number'
        ? i.options.getInteger(a.arg.name)
        : a.arg
          ? i.options
              .getString(a.arg.name)
              ?.replace(/[:\s]+/g, ' ')
              .trim()
          : null;
    const line = new InteractionReply(i, null, this.log);
    let answered = false;
    // Text replaces the deferred reply; a round (the thread refused it) is a private follow-up.
    const toPerson = async (p: DiscordPayload) => {
      if (p.embeds?.length) return line.privately(p);
      answered = true;
      await line.set(p.content ?? '');
    };
    const sink = inThread
      ? new DiscordThreadSink(inThread, this.log, {
          typingIntervalMs: this.options.typingIntervalMs,
          ephemeral: toPerson,
          privateNotices: a.action === 'help',
          progress: (text) => line.set(`-# ⏳ ${text}`),
        })
      : { send: async (reply: Reply) => toPerson(renderReply(reply)) };
    const key = inThread ? this.keyOf(inThread) : this.channelKey(i.guildId, channel.id);
    const action = {
      key,
      eventId: i.id,
      userId: i.user.id,
      actionId: encodeActionId(a.action, LATEST, raw ?? undefined),
      platformAdmin: manageServer(i),
    };
    try {
      await this.inOrder(channel.id, async () => ({ done: this.engine.onAction(action, sink) }));
    } finally {
      if (sink instanceof DiscordThreadSink) sink.close();
      if (!answered)
        await i.deleteReply().catch((e: unknown) => this.log.warn({ err: e }, 'deleteReply failed'));
    }
  }

  /** Menus and buttons on round posts: acknowledge at once, then run the action in the thread. */
  private async onComponent(i: ButtonInteraction | StringSelectMenuInteraction): Promise<void> {
    await i.deferUpdate();
    const channel = await this.channelOf(i);
    if (!i.inGuild() || !channel?.isThread()) {
      await i.followUp({
        ...renderText('This control only works in a search thread.'),
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    const actionId = i.isStringSelectMenu() ? (i.values[0] ?? i.customId) : i.customId;
    const reply = new InteractionReply(i, null, this.log);
    const sink = new DiscordThreadSink(channel, this.log, {
      typingIntervalMs: this.options.typingIntervalMs,
      ephemeral: (p) => reply.privately(p),
    });
    try {
      const action = {
        key: this.keyOf(channel),
        eventId: i.id,
        userId: i.user.id,
        actionId,
        platformAdmin: manageServer(i),
      };
      await this.inOrder(channel.id, async () => ({ done: this.engine.onAction(action, sink) }));
    } finally {
      sink.close();
    }
  }
}

const FIND_ARG = 'description';
/** How many of the most recently used search threads a catch-up looks at. */
const CATCH_UP_THREADS = 100;

/** Discord's own reason, which people can act on; our internals stay in the log. */
function apiReason(err: unknown): string {
  if (err instanceof DiscordAPIError) return `Discord said: ${err.message} (${err.code})`;
  return 'an error on my side';
}

/** What a failed interaction tells the person: Discord's refusal, or core's words for the error. */
function failure(err: unknown): string {
  if (err instanceof DiscordAPIError) return `That did not work (${apiReason(err)}). Please try again.`;
  return describeError(err).text;
}

/** Why Discord refused to let the bot post, in words people can act on; null for other errors. */
function refusal(err: unknown): string | null {
  if (!(err instanceof DiscordAPIError)) return null;
  switch (err.code) {
    case RESTJSONErrorCodes.InvalidActionOnArchivedThread:
      return 'This thread is locked, so I cannot post in it. A moderator can reopen it, or start a new search with /find in a channel.';
    case RESTJSONErrorCodes.MissingPermissions:
    case RESTJSONErrorCodes.MissingAccess:
      return `Discord did not let me post here (${err.message}). ${THREAD_PERMISSIONS_HINT}`;
    default:
      return null;
  }
}

/** Discord's answers once an interaction's token has died (15 minutes) or was never acknowledged. */
const DEAD_TOKEN = new Set([
  RESTJSONErrorCodes.InvalidWebhookToken,
  RESTJSONErrorCodes.UnknownWebhook,
  RESTJSONErrorCodes.UnknownInteraction,
]);

const isDeadToken = (err: unknown) => err instanceof DiscordAPIError && DEAD_TOKEN.has(Number(err.code));

/**
 * What the bot says through one interaction: its reply, used as a status line ("🔎 a red fox —
 * ⏳ Drawing…") and edited only when its text changes, and private (ephemeral) follow-ups. The token
 * behind both dies 15 minutes after the interaction, while a round may run longer: from then on
 * status edits are skipped, and a private answer is dropped with a warning, never posted in public
 * instead (rounds go to the thread as channel messages, which need no token).
 */
class InteractionReply {
  private current: string | null;
  private expired = false;
  constructor(
    private readonly i: RepliableInteraction,
    initial: string | null,
    private readonly log: Logger,
  ) {
    this.current = initial;
  }

  /** Never throws: a failed status edit must not fail the round. */
  async set(text: string): Promise<void> {
    if (text === this.current || !text || this.expired) return;
    this.current = text;
    try {
      await this.i.editReply(renderText(text));
    } catch (err) {
      this.expired ||= isDeadToken(err);
      this.log.warn({ err }, 'could not update the interaction reply');
    }
  }

  /** Throws only what is not an expired token (the engine then reports it). */
  async privately(payload: DiscordPayload): Promise<void> {
    if (!this.expired) {
      try {
        await this.i.followUp({ ...payload, flags: MessageFlags.Ephemeral });
        return;
      } catch (err) {
        if (!isDeadToken(err)) throw err;
        this.expired = true;
      }
    }
    this.log.warn(
      { interaction: this.i.id },
      'the interaction expired before its private answer; the answer was not posted',
    );
  }
}

interface SinkOptions {
  typingIntervalMs?: number | undefined;
  /** Where notices meant only for the person who acted go (an interaction follow-up). */
  ephemeral?: (payload: DiscordPayload) => Promise<void>;
  /** Send every notice (not only ephemeral ones) to `ephemeral`, e.g. for help asked with a command. */
  privateNotices?: boolean;
  /** A visible progress line (interaction replies); the typing indicator runs in any case. */
  progress?: (text: string) => Promise<void>;
}

/** Renders the engine's replies into one Discord thread; typing indicator while a round runs. */
export class DiscordThreadSink implements ThreadSink {
  private typing: NodeJS.Timeout | null = null;

  constructor(
    private readonly thread: SearchThread,
    private readonly log: Logger,
    private readonly options: SinkOptions = {},
  ) {}

  async send(reply: Reply): Promise<void> {
    this.stopTyping();
    const payload = renderReply(reply);
    if (
      reply.kind === 'notice' &&
      (reply.ephemeral || this.options.privateNotices) &&
      this.options.ephemeral
    ) {
      await this.options.ephemeral(payload);
      return;
    }
    try {
      await this.thread.send(payload);
    } catch (err) {
      // Locked thread or a missing permission: the person who acted still gets the answer, privately.
      const why = refusal(err);
      if (!why || !this.options.ephemeral) throw err;
      this.log.warn({ thread: this.thread.id, err }, 'could not post in the thread; answering privately');
      const content = payload.content ? `⚠️ ${why}\n${payload.content}` : `⚠️ ${why}`;
      await this.options.ephemeral({ ...payload, ...renderText(content) });
    }
  }

  async progress(text: string): Promise<void> {
    if (!this.typing) {
      this.sendTyping();
      this.typing = setInterval(() => this.sendTyping(), this.options.typingIntervalMs ?? 8000);
      this.typing.unref();
    }
    await this.options.progress?.(text);
  }

  close(): void {
    this.stopTyping();
  }

  private sendTyping(): void {
    this.thread.sendTyping().catch((err: unknown) => this.log.warn({ err }, 'typing failed'));
  }

  private stopTyping(): void {
    if (this.typing) clearInterval(this.typing);
    this.typing = null;
  }
}

const NOT_OUR_GUILD = 'GenIR is not installed in this server, so it cannot answer here.';

/** Discord's own admin notion: Manage Server, from the permissions Discord computed for the interaction. */
const manageServer =
  (i: { memberPermissions: Readonly<PermissionsBitField> | null }) => async (): Promise<boolean> =>
    i.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
