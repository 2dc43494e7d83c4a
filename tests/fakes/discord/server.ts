/**
 * A fake Discord on 127.0.0.1 for tests: the REST routes discord.js uses (under /api/v10) and a
 * gateway WebSocket, with a small scripting API: people send messages (with attachments), run slash
 * commands, click buttons and pick from menus; tests read back what the bot posted.
 *
 *   const fake = await FakeDiscord.start();
 *   const client = new Client({ intents, rest: { api: fake.apiUrl } });   // gateway URL comes from /gateway/bot
 *   await client.login(fake.token);
 *   const id = await fake.sendMessage({ channelId: fake.channels.general, content: `${fake.botMention} a red fox` });
 *   fake.postsIn(threadId)   // [{ content, embeds, components, attachments, ephemeral, pinged, … }]
 *
 * Behaviour kept close to Discord where tests depend on it, all of it on by default:
 * - multipart uploads (payload_json + files[n]); allowed_mentions (what would have pinged is
 *   recorded in `pinged`); a thread started from a message has the message's id;
 * - interactions: acknowledged once (40060), within 3 s (10062 after), tokens that die after
 *   15 minutes (50027); `ageInteractions(ms)` moves their clock on without waiting;
 * - rate limits (rate-limits.ts): per-route buckets with X-RateLimit-* headers, 429 with
 *   Retry-After and `{ message, retry_after, global }`, a global limit of 50 requests per second;
 * - message limits (limits.ts): 400 Invalid Form Body (50035) with field errors, 413 over 10 MiB;
 * - permissions (`deny`/`allow`: 403 50013) and thread states (`archiveThread`: posting reopens
 *   an archived thread, a locked one answers 400 50083);
 * - the gateway: a dropped connection resumes with missed events replayed; op 7 Reconnect
 *   (`requestReconnect`), op 9 Invalid Session (`invalidateSession`: what happens meanwhile is
 *   never delivered, but can be fetched with GET /channels/:id/messages);
 * - `replay(fixture, vars)` sends a documented payload (tests/fixtures/discord) on the gateway.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { closeServer, jsonServer, listenLocal, readBody, sendJson } from '../shared/http.ts';
import { checkMessage, DISCORD_LIMITS, invalidForm, type Json, type Reply } from './limits.ts';
import { DEFAULT_RATE_LIMITS, type RateLimitOptions, RateLimits, tooMany } from './rate-limits.ts';

export const ChannelKind = {
  GuildText: 0,
  GuildAnnouncement: 5,
  AnnouncementThread: 10,
  PublicThread: 11,
} as const;
/** Channel permissions the fake can take away from the bot (its role has all others). */
export type BotPermission =
  | 'SEND_MESSAGES'
  | 'SEND_MESSAGES_IN_THREADS'
  | 'CREATE_PUBLIC_THREADS'
  | 'ATTACH_FILES';
/** Discord: the first response to an interaction within 3 s; its token then works for 15 minutes. */
export const INTERACTION_ACK_MS = 3000;
export const INTERACTION_TOKEN_MS = 15 * 60 * 1000;
const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;
const HAS_THREAD = 1 << 5;
const ALL_PERMISSIONS = '2248473465835073';

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

export interface FakeChannel {
  id: string;
  type: number;
  guild_id: string;
  name: string;
  parent_id: string | null;
  owner_id?: string;
  position: number;
  permission_overwrites: [];
  rate_limit_per_user: number;
  last_message_id: string | null;
  thread_metadata?: {
    archived: boolean;
    auto_archive_duration: number;
    archive_timestamp: string;
    locked: boolean;
  };
  message_count?: number;
  member_count?: number;
  total_message_sent?: number;
  flags: number;
}

export interface StoredFile {
  id: string;
  filename: string;
  size: number;
  content_type: string;
  url: string;
  proxy_url: string;
  description?: string;
  data: Buffer;
}

export interface FakePost {
  id: string;
  channelId: string;
  author: FakeUser;
  content: string;
  embeds: Json[];
  components: Json[];
  attachments: { id: string; filename: string; size: number; contentType: string; data: Buffer }[];
  flags: number;
  ephemeral: boolean;
  /** Only set for bot posts: the allowed_mentions the bot sent (undefined when it sent none). */
  allowedMentions: Json | undefined;
  /** What Discord would actually have pinged for this post. */
  pinged: { everyone: boolean; users: string[]; roles: string[] };
  /** Made through an interaction (response or follow-up) rather than POST /channels/:id/messages. */
  viaInteraction: boolean;
  edits: number;
  deleted: boolean;
}

interface StoredMessage extends FakePost {
  createdAt: string;
  editedAt: string | null;
  threadId?: string;
  interactionId?: string;
}

interface FakeInteraction {
  id: string;
  token: string;
  channelId: string;
  user: FakeUser;
  kind: 'slash' | 'component';
  dispatchedAt: number;
  /** Callback types received (4 reply, 5 deferred reply, 6 deferred update, 7 update). */
  callbacks: number[];
  ackedAt: number | null;
  /** The message @original refers to. */
  originalId: string | null;
  ephemeral: boolean;
  componentMessageId?: string;
}

export interface RequestRecord {
  method: string;
  /** Route template, e.g. "POST /channels/:id/messages". */
  route: string;
  path: string;
  status: number;
}

export interface UploadSpec {
  name: string;
  data: Buffer;
  contentType?: string;
}

interface Failure {
  route: string;
  status: number;
  retryAfter: number;
  times: number;
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  /** Interaction/webhook routes authenticate by token in the path, not by header. */
  open?: boolean;
  handle: (ctx: RouteContext) => Promise<Reply> | Reply;
}

interface RouteContext {
  params: string[];
  query: URLSearchParams;
  body: { json: Json; files: UploadSpec[] };
}

const EPOCH = 1420070400000n;

export class FakeDiscord {
  readonly token = `fake.${randomBytes(36).toString('base64url')}`;
  readonly applicationId: string;
  readonly guildId: string;
  readonly botUser: FakeUser;
  /** Default people and channels; add more with user() / addTextChannel(). */
  readonly people: { alice: FakeUser; bob: FakeUser; otherBot: FakeUser };
  readonly channels: { general: string; random: string; news: string };

  readonly requests: RequestRecord[] = [];
  readonly identifies: Json[] = [];
  readonly registered: { scope: 'global' | 'guild'; guildId?: string; commands: Json[] }[] = [];

  private readonly users = new Map<string, FakeUser>();
  private readonly channelMap = new Map<string, FakeChannel>();
  private readonly messages: StoredMessage[] = [];
  private readonly files = new Map<string, StoredFile>();
  private readonly interactions = new Map<string, FakeInteraction>();
  private readonly typing = new Map<string, number>();
  private readonly failures: Failure[] = [];
  private readonly routes: Route[] = [];
  private seq = 0;
  private idCounter = 0n;

  private server!: Server;
  private wss!: WebSocketServer;
  private port = 0;
  private socket: WebSocket | null = null;
  private readonly sockets = new Set<WebSocket>();
  private session: { id: string; seq: number; sent: { s: number; frame: string }[] } | null = null;
  private readyWaiters: (() => void)[] = [];
  private privilegedIntents = true;
  private rateLimits: RateLimits | null = new RateLimits(DEFAULT_RATE_LIMITS);
  private uploadBytes: number = DISCORD_LIMITS.uploadBytes;
  /** Added to the clock interactions are timed by: tests age interactions without waiting. */
  private interactionClockOffset = 0;
  /** Permissions the bot lacks, by channel (threads also lack what their parent lacks). */
  private readonly denied = new Map<string, Set<BotPermission>>();
  /** Members' permissions in the guild, as Discord computes them for interactions (default: all). */
  private readonly memberPermissions = new Map<string, string>();

  private constructor() {
    this.applicationId = this.snowflake();
    this.guildId = this.snowflake();
    this.botUser = this.makeUser('genir', true, this.applicationId);
    this.people = {
      alice: this.makeUser('alice'),
      bob: this.makeUser('bob'),
      otherBot: this.makeUser('otherbot', true),
    };
    this.channels = {
      general: this.addChannel('general', ChannelKind.GuildText),
      random: this.addChannel('random', ChannelKind.GuildText),
      news: this.addChannel('news', ChannelKind.GuildAnnouncement),
    };
    this.defineRoutes();
  }

  /**
   * `privilegedIntents: false` acts like an app whose Message Content (and other privileged) intents
   * are not enabled in the Developer Portal: IDENTIFY with them is closed with 4014.
   */
  static async start(
    o: {
      privilegedIntents?: boolean;
      /** Rate limits (on by default, with windows shortened for tests); false turns them off. */
      rateLimits?: RateLimitOptions | false;
      /** Upload limit per request (default 10 MiB, a server without boosts). */
      uploadBytes?: number;
    } = {},
  ): Promise<FakeDiscord> {
    const fake = new FakeDiscord();
    fake.privilegedIntents = o.privilegedIntents ?? true;
    if (o.rateLimits !== undefined) fake.rateLimits = o.rateLimits ? new RateLimits(o.rateLimits) : null;
    fake.uploadBytes = o.uploadBytes ?? DISCORD_LIMITS.uploadBytes;
    await fake.listen();
    return fake;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The REST base to give discord.js (`rest: { api }`); it appends /v10 itself. */
  get apiUrl(): string {
    return `${this.origin}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  /** How a person mentions the bot in a message. */
  get botMention(): string {
    return `<@${this.botUser.id}>`;
  }

  // ── scripting API ───────────────────────────────────────────────────────────────────────────

  /** A new person (or bot, with bot: true). */
  user(username: string, bot = false): FakeUser {
    return this.makeUser(username, bot);
  }

  /** A new text channel; announced on the gateway when a session is open. */
  addTextChannel(name: string): string {
    const id = this.addChannel(name, ChannelKind.GuildText);
    if (this.session) this.dispatch('CHANNEL_CREATE', this.channelMap.get(id));
    return id;
  }

  /** A thread a person started (not the bot), announced with THREAD_CREATE. */
  createThread(parentId: string, name: string, owner: FakeUser = this.people.alice): string {
    const thread = this.addThread(parentId, this.snowflake(), name, owner.id);
    this.dispatch('THREAD_CREATE', { ...thread, newly_created: true });
    return thread.id;
  }

  channel(id: string): FakeChannel | undefined {
    return this.channelMap.get(id);
  }

  /** Threads under a channel, oldest first. */
  threadsOf(parentId: string): FakeChannel[] {
    return [...this.channelMap.values()].filter((c) => c.parent_id === parentId);
  }

  /** A member's permission bits in the guild (a decimal string, as Discord sends them). */
  setMemberPermissions(userId: string, bits: bigint): void {
    this.memberPermissions.set(userId, bits.toString());
  }

  /** The guild removes the bot: GUILD_DELETE with no `unavailable` field (docs: "the user was removed"). */
  async removeBot(): Promise<void> {
    await this.dispatch('GUILD_DELETE', { id: this.guildId });
  }

  /** The guild adds the bot again: GUILD_CREATE with the whole guild. */
  async addBot(): Promise<void> {
    await this.dispatch('GUILD_CREATE', this.guildPayload());
  }

  /** A person's message, dispatched as MESSAGE_CREATE; resolves with its id once sent on the gateway. */
  async sendMessage(o: {
    channelId: string;
    content?: string;
    author?: FakeUser;
    attachments?: UploadSpec[];
  }): Promise<string> {
    const author = o.author ?? this.people.alice;
    const msg = this.storeMessage({
      channelId: o.channelId,
      author,
      content: o.content ?? '',
      embeds: [],
      components: [],
      files: o.attachments ?? [],
      flags: 0,
      allowedMentions: undefined,
      viaInteraction: false,
    });
    await this.dispatch('MESSAGE_CREATE', this.wire(msg));
    return msg.id;
  }

  /** A slash command (`/find description:…`, `/genir pick n:3`); resolves with the interaction id. */
  async runSlash(o: {
    channelId: string;
    name: string;
    subcommand?: string;
    options?: Record<string, string | number>;
    user?: FakeUser;
    /** Another guild than the fake's own (one the bot is not in). */
    guildId?: string;
  }): Promise<string> {
    const opts = Object.entries(o.options ?? {}).map(([name, value]) => ({
      name,
      type: typeof value === 'number' ? 4 : 3,
      value,
    }));
    const data = {
      id: this.snowflake(),
      name: o.name,
      type: 1,
      guild_id: this.guildId,
      options: o.subcommand ? [{ name: o.subcommand, type: 1, options: opts }] : opts,
    };
    const i = this.newInteraction('slash', o.channelId, o.user);
    const guild = o.guildId
      ? { guild_id: o.guildId, guild: { id: o.guildId, locale: 'en-US', features: [] } }
      : {};
    await this.dispatch('INTERACTION_CREATE', { ...this.interactionBase(i, 2), ...guild, data });
    return i.id;
  }

  /** Press a button on a message; resolves with the interaction id. */
  async click(o: { messageId: string; customId: string; user?: FakeUser }): Promise<string> {
    return this.component(o.messageId, { custom_id: o.customId, component_type: 2 }, o.user);
  }

  /** Choose from a string select menu on a message; resolves with the interaction id. */
  async select(o: {
    messageId: string;
    customId: string;
    values: string[];
    user?: FakeUser;
  }): Promise<string> {
    return this.component(
      o.messageId,
      { custom_id: o.customId, component_type: 3, values: o.values },
      o.user,
    );
  }

  /** A file served at an attachment URL of this fake, e.g. for a message replayed from a fixture. */
  hostFile(channelId: string, file: UploadSpec): Omit<StoredFile, 'data'> {
    const [stored] = this.storeFiles(channelId, [file]);
    const { data: _data, ...meta } = stored as StoredFile;
    return meta;
  }

  /**
   * Sends a gateway event written from Discord's documented payload (a fixture under
   * tests/fixtures/discord), with its "{{name}}" placeholders filled from `vars`. An interaction is
   * registered first, so that its token works for callbacks and follow-ups. Resolves with the payload.
   */
  async replay(fixture: { t: string; d: Json }, vars: Record<string, string | number>): Promise<Json> {
    const d = fillPlaceholders(fixture.d, vars) as Json;
    if (fixture.t === 'INTERACTION_CREATE') {
      const message = d.message as Json | undefined;
      const i: FakeInteraction = {
        id: String(d.id),
        token: String(d.token),
        channelId: String(d.channel_id),
        user: (d.member as Json).user as FakeUser,
        kind: d.type === 2 ? 'slash' : 'component',
        dispatchedAt: this.interactionNow(),
        callbacks: [],
        ackedAt: null,
        originalId: message ? String(message.id) : null,
        ephemeral: false,
        ...(message ? { componentMessageId: String(message.id) } : {}),
      };
      this.interactions.set(i.token, i);
    }
    await this.dispatch(fixture.t, d);
    return d;
  }

  /** Messages in a channel or thread, in order (deleted ones left out unless asked). */
  postsIn(channelId: string, o: { includeDeleted?: boolean } = {}): FakePost[] {
    return this.messages
      .filter((m) => m.channelId === channelId && (o.includeDeleted || !m.deleted))
      .map((m) => ({ ...m }));
  }

  /** Only what the bot posted in a channel or thread. */
  botPostsIn(channelId: string): FakePost[] {
    return this.postsIn(channelId).filter((m) => m.author.id === this.botUser.id);
  }

  post(messageId: string): FakePost | undefined {
    const m = this.messages.find((x) => x.id === messageId);
    return m ? { ...m } : undefined;
  }

  /** Every message the bot sent anywhere (including deleted and ephemeral ones). */
  allBotPosts(): FakePost[] {
    return this.messages.filter((m) => m.author.id === this.botUser.id).map((m) => ({ ...m }));
  }

  typingCount(channelId: string): number {
    return this.typing.get(channelId) ?? 0;
  }

  /** An interaction by its id: the callbacks the bot made, when it acknowledged, its @original message. */
  interaction(id: string): Readonly<FakeInteraction> | undefined {
    return [...this.interactions.values()].find((i) => i.id === id);
  }

  /** Milliseconds from dispatching each interaction to its first callback (null: never acknowledged). */
  ackLatencies(): { id: string; kind: string; ms: number | null }[] {
    return [...this.interactions.values()].map((i) => ({
      id: i.id,
      kind: i.kind,
      ms: i.ackedAt === null ? null : i.ackedAt - i.dispatchedAt,
    }));
  }

  /** Takes permissions away from the bot in a channel (and the threads under it). */
  deny(channelId: string, ...permissions: BotPermission[]): void {
    const set = this.denied.get(channelId) ?? new Set();
    for (const p of permissions) set.add(p);
    this.denied.set(channelId, set);
  }

  /** Gives back permissions taken with deny(). */
  allow(channelId: string, ...permissions: BotPermission[]): void {
    for (const p of permissions) this.denied.get(channelId)?.delete(p);
  }

  /**
   * Archives a thread (as Discord does after inactivity, or a moderator does); `locked` also
   * locks it, so that only members with Manage Threads (not the bot) can reopen it.
   */
  archiveThread(id: string, o: { locked?: boolean } = {}): void {
    const t = this.channelMap.get(id);
    if (!t?.thread_metadata) throw new Error(`fake discord: ${id} is not a thread`);
    t.thread_metadata = {
      ...t.thread_metadata,
      archived: true,
      locked: o.locked ?? false,
      archive_timestamp: new Date().toISOString(),
    };
    void this.dispatch('THREAD_UPDATE', t);
  }

  /**
   * Moves the interaction clock on by `ms` for every interaction so far: past 3 s their callbacks
   * answer 10062 Unknown interaction, past 15 minutes their tokens answer 50027 Invalid Webhook Token.
   */
  ageInteractions(ms: number): void {
    this.interactionClockOffset += ms;
  }

  /**
   * The next `times` requests matching `route` (a template such as "POST /channels/:id/messages")
   * fail with `status`; a 429 carries Retry-After / X-RateLimit headers with `retryAfter` seconds.
   */
  failNext(route: string, status: number, retryAfter = 0.05, times = 1): void {
    this.failures.push({ route, status, retryAfter, times });
  }

  /** Gateway op 7 Reconnect: Discord asks the client to reconnect and resume (nothing is lost). */
  requestReconnect(): void {
    void this.sendFrame(JSON.stringify({ op: 7, d: null }));
  }

  /**
   * Gateway op 9 Invalid Session, not resumable: the session ends, the client identifies anew, and
   * whatever happens until then is never delivered (people's messages are still stored, so a
   * client can fetch them). Resolves once the new session is ready.
   */
  async invalidateSession(during?: () => Promise<void>): Promise<void> {
    this.session = null;
    const socket = this.socket;
    this.socket = null;
    socket?.send(JSON.stringify({ op: 9, d: false }));
    await during?.();
    await this.waitForSession();
  }

  /** Close the gateway connection the way a network blip does; discord.js reconnects and resumes. */
  dropConnection(code = 4000): void {
    for (const s of this.sockets) s.close(code, 'fake: dropped');
  }

  /** Resolves once a client has identified (or resumed) and received READY / RESUMED. */
  waitForSession(): Promise<void> {
    if (this.socket) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await closeServer(this.server);
  }

  // ── state helpers ───────────────────────────────────────────────────────────────────────────

  private snowflake(): string {
    this.idCounter++;
    return (((BigInt(Date.now()) - EPOCH) << 22n) | (this.idCounter & 0x3fffffn)).toString();
  }

  private interactionNow(): number {
    return Date.now() + this.interactionClockOffset;
  }

  /** What the bot lacks in a channel: its own denials and, for a thread, its parent's. */
  private lacks(channelId: string, permission: BotPermission): boolean {
    const ch = this.channelMap.get(channelId);
    const own = this.denied.get(channelId)?.has(permission) ?? false;
    return own || (ch?.parent_id ? (this.denied.get(ch.parent_id)?.has(permission) ?? false) : false);
  }

  /**
   * Whether the bot may post in a channel: a thread needs Send Messages in Threads (and is reopened
   * when archived, unless locked); a text channel needs Send Messages; files need Attach Files.
   */
  private refusePost(channelId: string, withFiles: boolean): Reply | null {
    const ch = this.channelMap.get(channelId);
    if (!ch) return unknown(10003, 'Unknown Channel');
    const meta = ch.thread_metadata;
    if (this.lacks(channelId, meta ? 'SEND_MESSAGES_IN_THREADS' : 'SEND_MESSAGES'))
      return MISSING_PERMISSIONS;
    if (withFiles && this.lacks(channelId, 'ATTACH_FILES')) return MISSING_PERMISSIONS;
    if (meta?.locked) return meta.archived ? THREAD_ARCHIVED : MISSING_PERMISSIONS;
    if (meta?.archived) {
      // Discord: sending a message in an archived (not locked) thread unarchives it.
      ch.thread_metadata = { ...meta, archived: false, archive_timestamp: new Date().toISOString() };
      void this.dispatch('THREAD_UPDATE', ch);
    }
    return null;
  }

  /** Interaction responses need no channel permission, but a locked, archived thread takes none in public. */
  private refuseInteractionPost(channelId: string, ephemeral: boolean): Reply | null {
    const meta = this.channelMap.get(channelId)?.thread_metadata;
    return !ephemeral && meta?.archived && meta.locked ? THREAD_ARCHIVED : null;
  }

  private makeUser(username: string, bot = false, id = this.snowflake()): FakeUser {
    const user: FakeUser = {
      id,
      username,
      global_name: username,
      discriminator: '0',
      avatar: null,
      ...(bot ? { bot: true } : {}),
    };
    this.users.set(id, user);
    return user;
  }

  private addChannel(name: string, type: number): string {
    const id = this.snowflake();
    this.channelMap.set(id, {
      id,
      type,
      guild_id: this.guildId,
      name,
      parent_id: null,
      position: this.channelMap.size,
      permission_overwrites: [],
      rate_limit_per_user: 0,
      last_message_id: null,
      flags: 0,
    });
    return id;
  }

  private addThread(parentId: string, id: string, name: string, ownerId: string): FakeChannel {
    const parent = this.channelMap.get(parentId);
    const thread: FakeChannel = {
      id,
      type:
        parent?.type === ChannelKind.GuildAnnouncement
          ? ChannelKind.AnnouncementThread
          : ChannelKind.PublicThread,
      guild_id: this.guildId,
      name,
      parent_id: parentId,
      owner_id: ownerId,
      position: 0,
      permission_overwrites: [],
      rate_limit_per_user: 0,
      last_message_id: null,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: new Date().toISOString(),
        locked: false,
      },
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
      flags: 0,
    };
    this.channelMap.set(id, thread);
    return thread;
  }

  private storeMessage(o: {
    channelId: string;
    author: FakeUser;
    content: string;
    embeds: Json[];
    components: Json[];
    files: UploadSpec[];
    attachmentMeta?: Json[];
    flags: number;
    allowedMentions: Json | undefined;
    viaInteraction: boolean;
    interactionId?: string;
  }): StoredMessage {
    const id = this.snowflake();
    const attachments = this.storeFiles(o.channelId, o.files, o.attachmentMeta);
    const msg: StoredMessage = {
      id,
      channelId: o.channelId,
      author: o.author,
      content: o.content,
      embeds: o.embeds,
      components: o.components,
      attachments: attachments.map((a) => ({
        id: a.id,
        filename: a.filename,
        size: a.size,
        contentType: a.content_type,
        data: a.data,
      })),
      flags: o.flags,
      ephemeral: (o.flags & EPHEMERAL) !== 0,
      allowedMentions: o.allowedMentions,
      pinged: this.pings(o.content, o.author, o.allowedMentions),
      viaInteraction: o.viaInteraction,
      edits: 0,
      deleted: false,
      createdAt: new Date().toISOString(),
      editedAt: null,
      ...(o.interactionId ? { interactionId: o.interactionId } : {}),
    };
    this.messages.push(msg);
    const ch = this.channelMap.get(o.channelId);
    if (ch && !msg.ephemeral) {
      ch.last_message_id = id;
      if (ch.message_count !== undefined) ch.message_count++;
      if (ch.total_message_sent !== undefined) ch.total_message_sent++;
    }
    return msg;
  }

  private storeFiles(channelId: string, files: UploadSpec[], meta: Json[] = []): StoredFile[] {
    return files.map((f, n) => {
      const id = this.snowflake();
      const m = meta.find((x) => String(x.id) === String(n));
      const filename = (m?.filename as string | undefined) ?? f.name;
      const url = `${this.origin}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
      const stored: StoredFile = {
        id,
        filename,
        size: f.data.length,
        content_type: f.contentType ?? guessType(filename),
        url,
        proxy_url: url,
        ...(typeof m?.description === 'string' ? { description: m.description } : {}),
        data: f.data,
      };
      this.files.set(id, stored);
      return stored;
    });
  }

  /** Discord's rule: with no allowed_mentions everything in the content pings; otherwise only what it allows. */
  private pings(content: string, author: FakeUser, allowed: Json | undefined): FakePost['pinged'] {
    if (!author.bot) return { everyone: false, users: [], roles: [] };
    const parse = allowed ? ((allowed.parse as string[] | undefined) ?? []) : ['everyone', 'users', 'roles'];
    const users = [...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1] as string);
    const roles = [...content.matchAll(/<@&(\d+)>/g)].map((m) => m[1] as string);
    const allowedUsers = new Set((allowed?.users as string[] | undefined) ?? []);
    const allowedRoles = new Set((allowed?.roles as string[] | undefined) ?? []);
    return {
      everyone: parse.includes('everyone') && /@(everyone|here)\b/.test(content),
      users: users.filter((u) => parse.includes('users') || allowedUsers.has(u)),
      roles: roles.filter((r) => parse.includes('roles') || allowedRoles.has(r)),
    };
  }

  /** The message as Discord serializes it (REST responses and MESSAGE_CREATE). */
  private wire(m: StoredMessage): Json {
    const ch = this.channelMap.get(m.channelId);
    const mentionIds = new Set([...m.content.matchAll(/<@!?(\d+)>/g)].map((x) => x[1] as string));
    return {
      id: m.id,
      type: 0,
      channel_id: m.channelId,
      ...(ch ? { guild_id: this.guildId } : {}),
      author: m.author,
      ...(m.author.bot ? {} : { member: this.member() }),
      content: m.content,
      timestamp: m.createdAt,
      edited_timestamp: m.editedAt,
      tts: false,
      mention_everyone: m.author.bot ? m.pinged.everyone : /@(everyone|here)\b/.test(m.content),
      mentions: [...mentionIds].flatMap((id) => this.users.get(id) ?? []),
      mention_roles: [],
      attachments: m.attachments.map((a) => {
        const f = this.files.get(a.id) as StoredFile;
        const { data: _data, ...rest } = f;
        return rest;
      }),
      embeds: m.embeds,
      components: m.components,
      pinned: false,
      flags: m.flags,
      ...(m.viaInteraction ? { webhook_id: this.applicationId, application_id: this.applicationId } : {}),
      ...(m.threadId ? { thread: this.channelMap.get(m.threadId) } : {}),
    };
  }

  private member(): Json {
    return {
      roles: [],
      joined_at: new Date(0).toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
    };
  }

  private newInteraction(kind: FakeInteraction['kind'], channelId: string, user?: FakeUser): FakeInteraction {
    const i: FakeInteraction = {
      id: this.snowflake(),
      token: randomBytes(24).toString('base64url'),
      channelId,
      user: user ?? this.people.alice,
      kind,
      dispatchedAt: this.interactionNow(),
      callbacks: [],
      ackedAt: null,
      originalId: null,
      ephemeral: false,
    };
    this.interactions.set(i.token, i);
    return i;
  }

  private interactionBase(i: FakeInteraction, type: number): Json {
    return {
      id: i.id,
      application_id: this.applicationId,
      type,
      token: i.token,
      version: 1,
      guild_id: this.guildId,
      guild: { id: this.guildId, locale: 'en-US', features: [] },
      channel_id: i.channelId,
      channel: this.channelMap.get(i.channelId),
      member: {
        ...this.member(),
        user: i.user,
        permissions: this.memberPermissions.get(i.user.id) ?? ALL_PERMISSIONS,
        nick: null,
        avatar: null,
      },
      app_permissions: ALL_PERMISSIONS,
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': this.guildId },
      context: 0,
      attachment_size_limit: 10 * 1024 * 1024,
    };
  }

  private async component(messageId: string, data: Json, user?: FakeUser): Promise<string> {
    const msg = this.messages.find((m) => m.id === messageId);
    if (!msg) throw new Error(`fake discord: no message ${messageId}`);
    const i = this.newInteraction('component', msg.channelId, user);
    i.componentMessageId = messageId;
    i.originalId = messageId;
    await this.dispatch('INTERACTION_CREATE', {
      ...this.interactionBase(i, 3),
      data,
      message: this.wire(msg),
    });
    return i.id;
  }

  // ── gateway ─────────────────────────────────────────────────────────────────────────────────

  /** Sends a dispatch to the connected session; kept for replay when the session is resumed later. */
  private dispatch(t: string, d: unknown): Promise<void> {
    if (!this.session) return Promise.resolve();
    const s = ++this.session.seq;
    const frame = JSON.stringify({ op: 0, t, s, d });
    this.session.sent.push({ s, frame });
    if (this.session.sent.length > 500) this.session.sent.shift();
    return this.sendFrame(frame);
  }

  private sendFrame(frame: string): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.send(frame, () => resolve()));
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
    ws.on('message', (raw) => {
      let msg: { op: number; d: Json | number | null };
      try {
        msg = JSON.parse(String(raw));
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      if (msg.op === 1) ws.send(JSON.stringify({ op: 11 }));
      else if (msg.op === 2) this.onIdentify(ws, msg.d as Json);
      else if (msg.op === 6) this.onResume(ws, msg.d as Json);
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      if (this.socket === ws) this.socket = null;
    });
  }

  private onIdentify(ws: WebSocket, d: Json): void {
    if (d.token !== this.token && d.token !== `Bot ${this.token}`) {
      ws.close(4004, 'Authentication failed.');
      return;
    }
    this.identifies.push({ intents: d.intents, properties: d.properties, shard: d.shard });
    const PRIVILEGED = (1 << 1) | (1 << 8) | (1 << 15); // GuildMembers, GuildPresences, MessageContent
    if (!this.privilegedIntents && (Number(d.intents) & PRIVILEGED) !== 0) {
      ws.close(4014, 'Disallowed intent(s).');
      return;
    }
    this.session = { id: randomBytes(8).toString('hex'), seq: 0, sent: [] };
    this.socket = ws;
    void this.dispatch('READY', {
      v: 10,
      user: { ...this.botUser, verified: true, mfa_enabled: false, flags: 0 },
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: this.session.id,
      resume_gateway_url: this.gatewayUrl,
      shard: [0, 1],
      application: { id: this.applicationId, flags: 0 },
    });
    void this.dispatch('GUILD_CREATE', this.guildPayload());
    this.flushReadyWaiters();
  }

  private onResume(ws: WebSocket, d: Json): void {
    if (!this.session || d.session_id !== this.session.id || d.token !== this.token) {
      ws.send(JSON.stringify({ op: 9, d: false }));
      return;
    }
    this.socket = ws;
    const since = Number(d.seq ?? 0);
    for (const { s, frame } of this.session.sent) if (s > since) ws.send(frame);
    void this.dispatch('RESUMED', {});
    this.flushReadyWaiters();
  }

  private flushReadyWaiters(): void {
    const waiters = this.readyWaiters.splice(0);
    for (const w of waiters) w();
  }

  private guildPayload(): Json {
    const all = [...this.channelMap.values()];
    return {
      id: this.guildId,
      name: 'Fake guild',
      icon: null,
      owner_id: this.people.alice.id,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [
        {
          id: this.guildId,
          name: '@everyone',
          permissions: ALL_PERMISSIONS,
          position: 0,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      system_channel_flags: 0,
      joined_at: new Date(0).toISOString(),
      large: false,
      unavailable: false,
      member_count: 3,
      voice_states: [],
      members: [{ ...this.member(), user: this.botUser }],
      channels: all.filter((c) => c.parent_id === null),
      threads: all.filter((c) => c.parent_id !== null),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      premium_tier: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
    };
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────────

  private async listen(): Promise<void> {
    this.server = jsonServer(
      (req, res) => this.onRequest(req, res),
      (err) => ({ message: `fake discord: ${err.message}`, code: 0 }),
    );
    this.wss = new WebSocketServer({ server: this.server, path: '/gateway' });
    this.wss.on('connection', (ws) => this.onSocket(ws));
    this.port = await listenLocal(this.server);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const method = (req.method ?? 'GET').toUpperCase();

    const fileMatch = /^\/attachments\/\d+\/(\d+)\/[^/]+$/.exec(url.pathname);
    if (method === 'GET' && fileMatch) {
      const f = this.files.get(fileMatch[1] as string);
      if (!f) return send(res, { status: 404, json: { message: 'Not Found' } });
      res.writeHead(200, { 'content-type': f.content_type, 'content-length': String(f.data.length) });
      res.end(f.data);
      return;
    }

    const path = url.pathname.replace(/^\/api\/v\d+/, '');
    const route = this.routes.find((r) => r.method === method && r.pattern.test(path));
    const template = route ? `${method} ${route.template}` : `${method} ${path}`;
    const record = (status: number) => this.requests.push({ method, route: template, path, status });

    if (!route) {
      record(404);
      return send(res, { status: 404, json: { message: '404: Not Found', code: 0 } });
    }
    if (!route.open && req.headers.authorization !== `Bot ${this.token}`) {
      record(401);
      return send(res, { status: 401, json: { message: '401: Unauthorized', code: 0 } });
    }
    const raw = await readBody(req);
    const limits = this.rateLimitFor(route, template, path);
    if (limits && 'limited' in limits) {
      record(429);
      return send(res, limits.limited);
    }
    const failure = this.failures.find((f) => f.route === template && f.times > 0);
    if (failure) {
      failure.times--;
      record(failure.status);
      return send(res, failureReply(failure));
    }
    const body = await parseBody(req, raw);
    const params = (route.pattern.exec(path) as RegExpExecArray).slice(1);
    const reply = await route.handle({ params, query: url.searchParams, body });
    record(reply.status);
    send(res, { ...reply, headers: { ...limits?.headers, ...reply.headers } });
  }

  /**
   * Counts a request against its bucket (per top-level resource: channel, guild, webhook id and
   * token) and the global limit. Interaction callbacks have neither; token-authenticated webhook
   * routes are not bound by the global limit.
   */
  private rateLimitFor(route: Route, template: string, path: string) {
    if (!this.rateLimits || route.template === '/interactions/:id/:token/callback') return null;
    const resource = /^\/(?:channels|guilds)\/\d+|^\/webhooks\/\d+\/[^/]+/.exec(path)?.[0] ?? '';
    return this.rateLimits.take(template, resource, { global: !route.open });
  }

  /** The most requests one bucket window took so far (tests check a burst really filled a bucket). */
  get rateLimitPeak(): number {
    return this.rateLimits?.fullest ?? 0;
  }

  private defineRoutes(): void {
    const on = (method: string, template: string, handle: Route['handle'], open = false) => {
      const pattern = new RegExp(`^${template.replace(/:[a-z]+/g, '([^/]+)')}$`);
      this.routes.push({ method, template, pattern, handle, open });
    };
    const p = (ctx: RouteContext, n: number) => decodeURIComponent(ctx.params[n] as string);

    on('GET', '/gateway/bot', () => ({
      status: 200,
      json: {
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      },
    }));
    on('GET', '/users/@me', () => ({ status: 200, json: this.botUser }));
    on('GET', '/channels/:id', (c) => {
      const ch = this.channelMap.get(p(c, 0));
      return ch ? { status: 200, json: ch } : unknown(10003, 'Unknown Channel');
    });
    on('POST', '/channels/:id/messages', (c) => this.createBotMessage(p(c, 0), c.body));
    on('GET', '/channels/:id/messages', (c) => this.listMessages(p(c, 0), c.query));
    on('GET', '/channels/:id/messages/:id', (c) => {
      const m = this.findMessage(p(c, 1), p(c, 0));
      return m ? { status: 200, json: this.wire(m) } : unknown(10008, 'Unknown Message');
    });
    on('PATCH', '/channels/:id/messages/:id', (c) => {
      const m = this.findMessage(p(c, 1), p(c, 0));
      return m ? this.editMessage(m, c.body) : unknown(10008, 'Unknown Message');
    });
    on('DELETE', '/channels/:id/messages/:id', (c) => {
      const m = this.findMessage(p(c, 1), p(c, 0));
      if (!m) return unknown(10008, 'Unknown Message');
      m.deleted = true;
      return { status: 204 };
    });
    on('POST', '/channels/:id/typing', (c) => {
      const id = p(c, 0);
      if (!this.channelMap.has(id)) return unknown(10003, 'Unknown Channel');
      this.typing.set(id, (this.typing.get(id) ?? 0) + 1);
      return { status: 204 };
    });
    on('POST', '/channels/:id/messages/:id/threads', (c) => this.startThread(p(c, 0), c.body.json, p(c, 1)));
    on('POST', '/channels/:id/threads', (c) => this.startThread(p(c, 0), c.body.json, null));

    on('POST', '/interactions/:id/:token/callback', (c) => this.callback(p(c, 0), p(c, 1), c), true);
    on('GET', '/webhooks/:id/:token/messages/:id', (c) => this.webhookMessage(c, 'get'), true);
    on('PATCH', '/webhooks/:id/:token/messages/:id', (c) => this.webhookMessage(c, 'patch'), true);
    on('DELETE', '/webhooks/:id/:token/messages/:id', (c) => this.webhookMessage(c, 'delete'), true);
    on('POST', '/webhooks/:id/:token', (c) => this.followUp(c), true);

    on('PUT', '/applications/:id/commands', (c) => this.putCommands(c, p(c, 0)));
    on('PUT', '/applications/:id/guilds/:id/commands', (c) => this.putCommands(c, p(c, 0), p(c, 1)));
  }

  private findMessage(id: string, channelId?: string): StoredMessage | undefined {
    return this.messages.find((m) => m.id === id && (!channelId || m.channelId === channelId) && !m.deleted);
  }

  /** GET /channels/:id/messages: newest first, at most `limit` (1–100, default 50), after/before an id. */
  private listMessages(channelId: string, q: URLSearchParams): Reply {
    if (!this.channelMap.has(channelId)) return unknown(10003, 'Unknown Channel');
    const limit = Number(q.get('limit') ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return invalidForm('limit', 'NUMBER_TYPE_MAX', 'int value should be between 1 and 100.');
    }
    const after = q.get('after');
    const before = q.get('before');
    let found = this.messages.filter(
      (m) =>
        m.channelId === channelId &&
        !m.deleted &&
        !m.ephemeral &&
        (!after || BigInt(m.id) > BigInt(after)) &&
        (!before || BigInt(m.id) < BigInt(before)),
    );
    // With `after`, Discord returns the oldest `limit` messages after it (still newest first).
    found = after ? found.slice(0, limit) : found.slice(-limit);
    return { status: 200, json: found.reverse().map((m) => this.wire(m)) };
  }

  private createBotMessage(channelId: string, body: RouteContext['body']): Reply {
    const invalid =
      this.refusePost(channelId, body.files.length > 0) ??
      checkMessage(body, { uploadBytes: this.uploadBytes });
    if (invalid) return invalid;
    const msg = this.storeMessage({
      channelId,
      author: this.botUser,
      content: (body.json.content as string | undefined) ?? '',
      embeds: (body.json.embeds as Json[] | undefined) ?? [],
      components: (body.json.components as Json[] | undefined) ?? [],
      files: body.files,
      attachmentMeta: body.json.attachments as Json[] | undefined,
      flags: Number(body.json.flags ?? 0) & ~EPHEMERAL,
      allowedMentions: body.json.allowed_mentions as Json | undefined,
      viaInteraction: false,
    });
    const wire = this.wire(msg);
    void this.dispatch('MESSAGE_CREATE', wire);
    return { status: 200, json: wire };
  }

  private editMessage(m: StoredMessage, body: RouteContext['body']): Reply {
    const invalid = checkMessage(body, { edit: true, uploadBytes: this.uploadBytes });
    if (invalid) return invalid;
    const j = body.json;
    if ('content' in j) m.content = (j.content as string | null) ?? '';
    if ('embeds' in j) m.embeds = (j.embeds as Json[] | null) ?? [];
    if ('components' in j) m.components = (j.components as Json[] | null) ?? [];
    if ('allowed_mentions' in j) m.allowedMentions = j.allowed_mentions as Json;
    const keep = Array.isArray(j.attachments)
      ? new Set((j.attachments as Json[]).map((a) => String(a.id)))
      : new Set(m.attachments.map((a) => a.id));
    const added = this.storeFiles(m.channelId, body.files, j.attachments as Json[] | undefined);
    m.attachments = [
      ...m.attachments.filter((a) => keep.has(a.id)),
      ...added.map((a) => ({
        id: a.id,
        filename: a.filename,
        size: a.size,
        contentType: a.content_type,
        data: a.data,
      })),
    ];
    m.flags &= ~LOADING;
    m.pinged = this.pings(m.content, m.author, m.allowedMentions);
    m.edits++;
    m.editedAt = new Date().toISOString();
    return { status: 200, json: this.wire(m) };
  }

  private startThread(channelId: string, j: Json, messageId: string | null): Reply {
    const parent = this.channelMap.get(channelId);
    if (!parent || parent.parent_id !== null) return unknown(10003, 'Unknown Channel');
    if (this.lacks(channelId, 'CREATE_PUBLIC_THREADS')) return MISSING_PERMISSIONS;
    const name = String(j.name ?? '');
    if (name.length < 1 || Array.from(name).length > DISCORD_LIMITS.threadName) {
      return invalidForm(
        'name',
        'BASE_TYPE_BAD_LENGTH',
        `Must be between 1 and ${DISCORD_LIMITS.threadName} in length.`,
      );
    }
    let id = this.snowflake();
    if (messageId) {
      const m = this.findMessage(messageId, channelId);
      if (!m) return unknown(10008, 'Unknown Message');
      if (m.threadId)
        return {
          status: 400,
          json: { message: 'A thread has already been created for this message', code: 160004 },
        };
      id = messageId; // Discord: a thread started from a message has the message's id.
      m.threadId = id;
      m.flags |= HAS_THREAD;
    }
    const thread = this.addThread(channelId, id, name, this.botUser.id);
    void this.dispatch('THREAD_CREATE', { ...thread, newly_created: true });
    return { status: 201, json: thread };
  }

  private callback(id: string, token: string, c: RouteContext): Reply {
    const i = this.interactions.get(token);
    const now = this.interactionNow();
    if (!i || i.id !== id || now - i.dispatchedAt > INTERACTION_ACK_MS) {
      return unknown(10062, 'Unknown interaction');
    }
    if (i.ackedAt !== null) {
      return { status: 400, json: { message: 'Interaction has already been acknowledged.', code: 40060 } };
    }
    const type = Number(c.body.json.type);
    const data = (c.body.json.data as Json | undefined) ?? {};
    if (type === 4 || type === 5) {
      const refused =
        this.refuseInteractionPost(i.channelId, (Number(data.flags ?? 0) & EPHEMERAL) !== 0) ??
        (type === 4
          ? checkMessage({ json: data, files: c.body.files }, { uploadBytes: this.uploadBytes })
          : null);
      if (refused) return refused;
    }
    i.callbacks.push(type);
    i.ackedAt = now;
    let message: StoredMessage | undefined;
    if (type === 4 || type === 5) {
      i.ephemeral = (Number(data.flags ?? 0) & EPHEMERAL) !== 0;
      message = this.storeMessage({
        channelId: i.channelId,
        author: this.botUser,
        content: type === 4 ? ((data.content as string | undefined) ?? '') : '',
        embeds: type === 4 ? ((data.embeds as Json[] | undefined) ?? []) : [],
        components: type === 4 ? ((data.components as Json[] | undefined) ?? []) : [],
        files: c.body.files,
        attachmentMeta: data.attachments as Json[] | undefined,
        flags: (i.ephemeral ? EPHEMERAL : 0) | (type === 5 ? LOADING : 0),
        allowedMentions: data.allowed_mentions as Json | undefined,
        viaInteraction: true,
        interactionId: i.id,
      });
      i.originalId = message.id;
      if (!message.ephemeral) void this.dispatch('MESSAGE_CREATE', this.wire(message));
    } else if (type === 7 && i.componentMessageId) {
      const m = this.findMessage(i.componentMessageId);
      if (m) this.editMessage(m, { json: data, files: c.body.files });
    } else if (type !== 6) {
      return invalidForm('type', 'BASE_TYPE_CHOICES', `Value must be one of {4, 5, 6, 7, 9}; got ${type}.`);
    }
    if (c.query.get('with_response') === 'true') {
      return {
        status: 200,
        json: {
          interaction: {
            id: i.id,
            type: i.kind === 'slash' ? 2 : 3,
            response_message_ephemeral: i.ephemeral,
          },
          resource: { type, ...(message ? { message: this.wire(message) } : {}) },
        },
      };
    }
    return { status: 204 };
  }

  /** The interaction whose token a webhook route uses, or Discord's answer for a dead or unknown token. */
  private webhookFor(c: RouteContext): FakeInteraction | Reply {
    const [app, token] = [
      decodeURIComponent(c.params[0] as string),
      decodeURIComponent(c.params[1] as string),
    ];
    const i = this.interactions.get(token);
    if (!i || app !== this.applicationId || i.ackedAt === null) return unknown(10015, 'Unknown Webhook');
    if (this.interactionNow() - i.dispatchedAt > INTERACTION_TOKEN_MS) {
      return { status: 401, json: { message: 'Invalid Webhook Token', code: 50027 } };
    }
    return i;
  }

  private webhookMessage(c: RouteContext, op: 'get' | 'patch' | 'delete'): Reply {
    const i = this.webhookFor(c);
    if ('status' in i) return i;
    const ref = decodeURIComponent(c.params[2] as string);
    const id = ref === '@original' ? i.originalId : ref;
    const m = id ? this.findMessage(id) : undefined;
    if (!m) return unknown(10008, 'Unknown Message');
    if (op === 'get') return { status: 200, json: this.wire(m) };
    if (op === 'delete') {
      m.deleted = true;
      return { status: 204 };
    }
    return this.editMessage(m, c.body);
  }

  private followUp(c: RouteContext): Reply {
    const i = this.webhookFor(c);
    if ('status' in i) return i;
    const flags = Number(c.body.json.flags ?? 0);
    const invalid =
      this.refuseInteractionPost(i.channelId, (flags & EPHEMERAL) !== 0) ??
      checkMessage(c.body, { uploadBytes: this.uploadBytes });
    if (invalid) return invalid;
    const msg = this.storeMessage({
      channelId: i.channelId,
      author: this.botUser,
      content: (c.body.json.content as string | undefined) ?? '',
      embeds: (c.body.json.embeds as Json[] | undefined) ?? [],
      components: (c.body.json.components as Json[] | undefined) ?? [],
      files: c.body.files,
      attachmentMeta: c.body.json.attachments as Json[] | undefined,
      flags: flags & EPHEMERAL,
      allowedMentions: c.body.json.allowed_mentions as Json | undefined,
      viaInteraction: true,
      interactionId: i.id,
    });
    if (!msg.ephemeral) void this.dispatch('MESSAGE_CREATE', this.wire(msg));
    return { status: 200, json: this.wire(msg) };
  }

  private putCommands(c: RouteContext, app: string, guildId?: string): Reply {
    if (app !== this.applicationId) return { status: 403, json: { message: 'Missing Access', code: 50001 } };
    const list = c.body.json as unknown as Json[];
    if (!Array.isArray(list)) return invalidForm('_root', 'BASE_TYPE_ARRAY', 'Must be an array.');
    const commands = list.map((cmd) => ({
      ...cmd,
      id: this.snowflake(),
      application_id: this.applicationId,
      version: this.snowflake(),
      ...(guildId ? { guild_id: guildId } : {}),
    }));
    this.registered.push({ scope: guildId ? 'guild' : 'global', ...(guildId ? { guildId } : {}), commands });
    return { status: 200, json: commands };
  }
}

// ── helpers ───────────────────────────────────────────────────────────────────────────────────

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.status === 204 || reply.json === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  sendJson(res, reply.status, reply.json, headers);
}

/** A copy of `value` with every "{{name}}" replaced from `vars` (a whole-string placeholder keeps the var's type). */
function fillPlaceholders(value: unknown, vars: Record<string, string | number>): unknown {
  const lookup = (name: string) => {
    if (!(name in vars)) throw new Error(`fake discord: the fixture needs {{${name}}}`);
    return vars[name] as string | number;
  };
  if (typeof value === 'string') {
    const whole = /^\{\{(\w+)\}\}$/.exec(value);
    if (whole) return lookup(whole[1] as string);
    return value.replace(/\{\{(\w+)\}\}/g, (_, name: string) => String(lookup(name)));
  }
  if (Array.isArray(value)) return value.map((v) => fillPlaceholders(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillPlaceholders(v, vars)]));
  }
  return value;
}

function unknown(code: number, message: string): Reply {
  return { status: 404, json: { message, code } };
}

const MISSING_PERMISSIONS: Reply = { status: 403, json: { message: 'Missing Permissions', code: 50013 } };
const THREAD_ARCHIVED: Reply = { status: 400, json: { message: 'Thread is archived', code: 50083 } };

/** A scripted failure. Its 429 is a "shared" one: a per-resource limit no client can see coming. */
function failureReply(f: Failure): Reply {
  if (f.status === 429) return tooMany(f.retryAfter, { 'x-ratelimit-scope': 'shared' }, false);
  if (f.status === 403) return MISSING_PERMISSIONS;
  return { status: f.status, json: { message: `fake failure ${f.status}`, code: 0 } };
}

/** JSON, or multipart with `payload_json` and `files[n]` parts (what discord.js sends with attachments). */
async function parseBody(req: IncomingMessage, raw: Buffer): Promise<RouteContext['body']> {
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { json: {}, files: [] };
  if (type.startsWith('multipart/form-data')) {
    const form = await new Request('http://fake/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: raw,
    }).formData();
    const payload = form.get('payload_json');
    const json = typeof payload === 'string' ? (JSON.parse(payload) as Json) : {};
    const files: UploadSpec[] = [];
    const entries = [...form.entries()].filter(([k]) => /^files\[\d+\]$/.test(k));
    entries.sort(([a], [b]) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
    for (const [, value] of entries) {
      if (typeof value === 'string') continue;
      files.push({
        name: value.name,
        data: Buffer.from(await value.arrayBuffer()),
        contentType: value.type || guessType(value.name),
      });
    }
    // When sent as multipart, an interaction callback's payload is the whole { type, data } body.
    return { json, files };
  }
  return { json: JSON.parse(raw.toString('utf8')) as Json, files: [] };
}

function guessType(name: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  const types: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
    txt: 'text/plain',
    pdf: 'application/pdf',
  };
  return (ext && types[ext]) || 'application/octet-stream';
}
