/**
 * A fake Slack on 127.0.0.1: the Web API methods the bot and Bolt call, the external upload URL,
 * private file downloads, response_url, and Socket Mode (apps.connections.open + a WebSocket).
 * It keeps every message per channel/thread and checks the Block Kit limits Slack enforces, so
 * tests see what a person would see.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { closeServer, listenLocal, localOrigin, readBody, sendJson } from '../shared/http.ts';

export interface FakeSlackIdentity {
  botToken: string;
  appToken: string;
  teamId: string;
  botUserId: string;
  botId: string;
  appId: string;
  /** The app's OAuth credentials (Basic Information → App Credentials). */
  clientId: string;
  clientSecret: string;
}

/** A workspace's bot as a token identifies it. */
export interface FakeBot {
  teamId: string;
  teamName: string;
  botUserId: string;
  botId: string;
}

/** An install code Slack's authorize page hands back on the redirect (docs: oauth.v2.access). */
interface InstallCode {
  teamId: string;
  user: string;
  scopes: string;
  redirectUri?: string;
  issuedAt: number;
}

export const DEFAULT_IDENTITY: FakeSlackIdentity = {
  botToken: 'xoxb-fake-bot-token',
  appToken: 'xapp-fake-app-token',
  teamId: 'T0FAKE',
  botUserId: 'UBOT',
  botId: 'BBOT',
  appId: 'AFAKE',
  clientId: '1111111111.2222222222',
  clientSecret: 'fake-client-secret-0123456789',
};

export interface FakeFile {
  id: string;
  name: string;
  title?: string;
  bytes: number;
  /** The uploaded bytes start with the PNG signature. */
  png: boolean;
  /** The screen-reader text, as given to files.getUploadURLExternal (`alt_txt`). */
  alt?: string;
}

/**
 * What the fake enforces, as Slack documents it (docs.slack.dev/apis/web-api/rate-limits and the
 * method pages); tests may tighten or loosen a limit.
 */
export interface FakeSlackLimits {
  /** Tier 3 (chat.update, chat.delete): calls per minute per method; more get 429 + Retry-After. */
  tier3PerMinute: number;
  /** chat.postMessage: about 1 per second per channel, short bursts tolerated (this many at once). */
  postBurst: number;
  /** Uploaded files are shared (and their message appears) this long after completeUploadExternal. */
  processingMs: number;
  /** Socket Mode: an envelope not acked within this is sent again (retry_attempt + 1). */
  socketAckTimeoutMs: number;
  /** oauth.v2.access: an install code is good for this long, once ("expires after ten minutes"). */
  oauthCodeTtlMs: number;
}

export const DEFAULT_LIMITS: FakeSlackLimits = {
  tier3PerMinute: 50,
  postBurst: 20,
  processingMs: 50,
  socketAckTimeoutMs: 3000,
  oauthCodeTtlMs: 10 * 60 * 1000,
};

export interface FakeMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  /** Who posted: the bot user, or a person (messages tests add). */
  user: string;
  text: string;
  blocks?: Block[];
  /** The blocks as first posted (a client that has not refreshed still shows these controls). */
  firstBlocks?: Block[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  files: FakeFile[];
  /** Set for chat.postEphemeral / response_url ephemeral answers: only this user sees it. */
  ephemeralTo?: string;
  via: 'chat.postMessage' | 'files.completeUploadExternal' | 'chat.postEphemeral' | 'response_url' | 'person';
  deleted: boolean;
  edits: number;
  /** The workspace whose bot posted it (absent: the default workspace, or a person's message). */
  team?: string;
}

export interface FakeCall {
  method: string;
  status: number;
  params: Record<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as the client sent it
type Block = Record<string, any>;

type Failure = { status: number; retryAfter?: number } | { error: string };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function parseParams(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json'))
    return body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

/** Params the client JSON-encoded (blocks, metadata, files…). */
function json<T>(value: unknown): T | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** The Block Kit limits of the elements the bot uses; returns the first violation. */
export function blockKitProblem(blocks: Block[]): string | null {
  if (blocks.length > 50) return 'more than 50 blocks';
  const textLen = (t: Block | undefined) => (t?.text as string | undefined)?.length ?? 0;
  for (const b of blocks) {
    if (b.block_id && String(b.block_id).length > 255) return 'block_id longer than 255';
    if (b.type === 'section' && textLen(b.text) > 3000) return `section text ${textLen(b.text)} > 3000`;
    if (b.type === 'context') {
      if ((b.elements ?? []).length > 10) return 'context with more than 10 elements';
      for (const e of b.elements ?? []) if (textLen(e) > 3000) return 'context text > 3000';
    }
    if (b.type === 'actions') {
      if ((b.elements ?? []).length > 25) return 'actions with more than 25 elements';
      const ids = new Set<string>();
      for (const e of b.elements ?? []) {
        if (!e.action_id || e.action_id.length > 255) return 'action_id missing or longer than 255';
        if (ids.has(e.action_id)) return `duplicate action_id ${e.action_id}`;
        ids.add(e.action_id);
        if (e.type === 'button') {
          if (textLen(e.text) > 75) return `button text ${textLen(e.text)} > 75`;
          if (e.value && e.value.length > 2000) return 'button value > 2000';
        }
        if (e.type === 'static_select') {
          if (textLen(e.placeholder) > 150) return 'placeholder > 150';
          const options = (e.options ?? []) as Block[];
          if (options.length === 0 || options.length > 100)
            return `static_select with ${options.length} options`;
          for (const o of options) {
            if (textLen(o.text) > 75) return `option text ${textLen(o.text)} > 75`;
            if (!o.value || o.value.length > 150) return 'option value missing or > 150';
          }
        }
      }
    }
  }
  return null;
}

/** A file people shared, as the fake hosts it. */
interface HostedFile {
  data: Buffer;
  mimetype: string;
  /** The complete file object (what files.info answers). */
  info: Record<string, unknown>;
  /** Answer downloads with a redirect to this URL, token or not. */
  redirectTo?: string;
  /** The workspace it was shared in: only a bot token of that workspace downloads it. */
  team: string;
}

export interface HostFileOptions {
  /**
   * How the message event shows the file: whole (default); a Slack Connect stub
   * (`file_access: "check_file_info"`, only the id: files.info has the rest); or hidden by the
   * free plan's limit (`mode: "hidden_by_limit"`, no name, no URL, in files.info too).
   */
  shown?: 'whole' | 'check_file_info' | 'hidden_by_limit';
  /** Downloads answer 302 to this URL instead of the bytes. */
  redirectTo?: string;
  /** The workspace it is shared in (default: the default workspace). */
  team?: string;
}

export interface SocketEnvelope {
  type: 'events_api' | 'slash_commands' | 'interactive';
  payload: unknown;
  retryAttempt?: number;
  retryReason?: string;
}

export class FakeSlack {
  readonly identity: FakeSlackIdentity;
  readonly messages: FakeMessage[] = [];
  readonly calls: FakeCall[] = [];
  /** Authorization headers the file download endpoint received. */
  readonly downloadAuth: (string | undefined)[] = [];
  private readonly failures = new Map<string, Failure[]>();
  private readonly pendingUploads = new Map<string, FakeFile>();
  private readonly hostedFiles = new Map<string, HostedFile>();
  private readonly acks = new Map<string, (payload: unknown) => void>();
  /** Envelopes waiting for a connection. */
  private held: (() => void)[] = [];
  /** Acks the fake drops, as if lost on the way (the envelope is then redelivered). */
  loseAcks = 0;
  /** Every envelope frame sent: its id and retry_attempt. */
  readonly socketDeliveries: { id: string; attempt: number }[] = [];
  /** Channels the bot is not in. */
  private readonly notIn = new Set<string>();
  /**
   * Called with every message the bot posts or edits, as Slack echoes them back as `message`
   * events (the world delivers them to the bot).
   */
  onBotMessage: ((event: Record<string, unknown>, team: string) => void) | null = null;
  /** Bot tokens, each of one workspace's bot; uninstalling revokes them. */
  private readonly tokens = new Map<string, FakeBot & { revoked: boolean }>();
  /** Workspaces other than the default one, by team id. */
  private readonly workspaces = new Map<string, FakeBot>();
  /** Which workspace a channel is in (channels not listed are the default workspace's). */
  private readonly channelTeams = new Map<string, string>();
  private readonly installCodes = new Map<string, InstallCode>();
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private seq = 0;
  /** Call times per Tier 3 method in the last minute, and the postMessage bucket per channel. */
  private readonly tier3Calls = new Map<string, number[]>();
  private readonly postBuckets = new Map<string, { tokens: number; at: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly limits: FakeSlackLimits = { ...DEFAULT_LIMITS };
  /** Workspace admins and owners, as users.info reports them (everyone else is a plain member). */
  readonly workspaceAdmins = new Set<string>();
  readonly workspaceOwners = new Set<string>();
  private connectedResolve: (() => void) | null = null;
  /** Resolves when a Socket Mode client has connected and been sent `hello`. */
  readonly socketConnected: Promise<void>;

  private constructor(
    private readonly server: Server,
    identity: FakeSlackIdentity,
  ) {
    this.identity = identity;
    this.tokens.set(identity.botToken, {
      teamId: identity.teamId,
      teamName: 'Fake Team',
      botUserId: identity.botUserId,
      botId: identity.botId,
      revoked: false,
    });
    this.socketConnected = new Promise((resolve) => {
      this.connectedResolve = resolve;
    });
  }

  static async start(identity: Partial<FakeSlackIdentity> = {}): Promise<FakeSlack> {
    const server = createServer();
    const fake = new FakeSlack(server, { ...DEFAULT_IDENTITY, ...identity });
    server.on('request', (req, res) => {
      fake.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/socket')) {
        socket.destroy();
        return;
      }
      fake.wss.handleUpgrade(req, socket, head, (ws) => fake.onSocket(ws));
    });
    await listenLocal(server);
    return fake;
  }

  private origin: string | undefined;

  /** Asked on every request: the address is looked up once (getsockname is a system call). */
  get baseUrl(): string {
    this.origin ??= localOrigin(this.server);
    return this.origin;
  }

  /** What SLACK_API_URL / clientOptions.slackApiUrl should be. */
  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  /**
   * Another workspace, with channels of its own; its bot gets a token only by installing the app
   * (approveInstall, then oauth.v2.access). Returns its bot's ids.
   */
  addWorkspace(teamId: string, channels: string[] = [], teamName = `Team ${teamId}`): FakeBot {
    const bot = this.workspaces.get(teamId) ?? {
      teamId,
      teamName,
      botUserId: `UB${teamId}`,
      botId: `BB${teamId}`,
    };
    this.workspaces.set(teamId, bot);
    for (const channel of channels) this.channelTeams.set(channel, teamId);
    return bot;
  }

  workspace(teamId: string): FakeBot | undefined {
    return this.workspaces.get(teamId);
  }

  /** The workspace a channel belongs to. */
  teamOf(channel: string): string {
    return this.channelTeams.get(channel) ?? this.identity.teamId;
  }

  /**
   * A person pressed "Allow" on Slack's authorize page for `teamId`: Slack redirects their browser
   * to the app's redirect URL with this code (and the state it was given).
   */
  approveInstall(teamId: string, o: { user?: string; scopes?: string; redirectUri?: string } = {}): string {
    if (!this.workspaces.has(teamId)) throw new Error(`no fake workspace ${teamId}`);
    const code = `${teamId}.${randomBytes(12).toString('hex')}`;
    this.installCodes.set(code, {
      teamId,
      user: o.user ?? 'UINSTALLER',
      scopes: o.scopes ?? 'chat:write,commands',
      ...(o.redirectUri ? { redirectUri: o.redirectUri } : {}),
      issuedAt: Date.now(),
    });
    return code;
  }

  /** The workspace removes the app: every bot token of it is revoked (the test sends app_uninstalled). */
  uninstall(teamId: string): void {
    for (const bot of this.tokens.values()) if (bot.teamId === teamId) bot.revoked = true;
  }

  /** The bot token the workspace's latest install got. */
  tokenOf(teamId: string): string | undefined {
    return [...this.tokens].filter(([, b]) => b.teamId === teamId && !b.revoked).at(-1)?.[0];
  }

  /**
   * oauth.v2.access (docs.slack.dev/reference/methods/oauth.v2.access): client_id and
   * client_secret as form fields or HTTP Basic; the code is single-use and short-lived; a
   * redirect_uri given at authorize must be given again, the same.
   */
  private oauthAccess(
    p: Record<string, unknown>,
    authorization: string | undefined,
  ): Record<string, unknown> {
    let clientId = p.client_id as string | undefined;
    let clientSecret = p.client_secret as string | undefined;
    if (authorization?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
      clientId = id;
      clientSecret = secret;
    }
    if (!p.code) return { ok: false, error: 'invalid_arguments' };
    if (clientId !== this.identity.clientId) return { ok: false, error: 'invalid_client_id' };
    if (clientSecret !== this.identity.clientSecret) return { ok: false, error: 'bad_client_secret' };
    const code = this.installCodes.get(String(p.code));
    if (!code) return { ok: false, error: 'invalid_code' };
    // Used once, right or wrong: a replay finds nothing.
    this.installCodes.delete(String(p.code));
    if (Date.now() - code.issuedAt >= this.limits.oauthCodeTtlMs) return { ok: false, error: 'invalid_code' };
    if (code.redirectUri !== undefined && p.redirect_uri !== code.redirectUri)
      return { ok: false, error: 'bad_redirect_uri' };
    const team = this.workspaces.get(code.teamId) as FakeBot;
    const token = `xoxb-${team.teamId}-${randomBytes(8).toString('hex')}`;
    this.tokens.set(token, { ...team, revoked: false });
    return {
      ok: true,
      access_token: token,
      token_type: 'bot',
      scope: code.scopes,
      bot_user_id: team.botUserId,
      app_id: this.identity.appId,
      team: { id: team.teamId, name: team.teamName },
      enterprise: null,
      is_enterprise_install: false,
      authed_user: { id: code.user },
    };
  }

  /** A new message ts, later than every ts before it. */
  nextTs(): string {
    this.seq++;
    return `${1_700_000_000 + this.seq}.${String(this.seq).padStart(6, '0')}`;
  }

  /** The next call of `method` fails: an HTTP status (429 with Retry-After seconds), or a Slack error. */
  failNext(method: string, status = 429, retryAfter = 1): void {
    this.queueFailure(method, { status, retryAfter });
  }

  /** The next call of `method` answers { ok: false, error }. */
  errorNext(method: string, error: string): void {
    this.queueFailure(method, { error });
  }

  private queueFailure(method: string, f: Failure): void {
    const list = this.failures.get(method) ?? [];
    list.push(f);
    this.failures.set(method, list);
  }

  callsOf(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** A person's message, as Slack would store it (tests send the matching event themselves). */
  addPersonMessage(channel: string, user: string, text: string, threadTs?: string): FakeMessage {
    const m: FakeMessage = {
      channel,
      ts: this.nextTs(),
      ...(threadTs ? { threadTs } : {}),
      user,
      text,
      files: [],
      via: 'person',
      deleted: false,
      edits: 0,
    };
    this.messages.push(m);
    return m;
  }

  /** A file a person shared, downloadable with the bot token; returns the event's file object. */
  hostFile(
    name: string,
    mimetype: string,
    data: Buffer,
    options: HostFileOptions = {},
  ): Record<string, unknown> {
    const id = `F${randomBytes(4).toString('hex').toUpperCase()}`;
    const url = `${this.baseUrl}/files-pri/${id}/${encodeURIComponent(name)}`;
    const whole = {
      id,
      name,
      title: name,
      mimetype,
      size: data.length,
      url_private: url,
      url_private_download: `${url}?download=1`,
    };
    const hidden = { id, mode: 'hidden_by_limit', created: 0, timestamp: 0 };
    const info = options.shown === 'hidden_by_limit' ? hidden : whole;
    this.hostedFiles.set(id, {
      data,
      mimetype,
      info,
      team: options.team ?? this.identity.teamId,
      ...(options.redirectTo ? { redirectTo: options.redirectTo } : {}),
    });
    if (options.shown === 'check_file_info')
      return { id, mode: 'file_access', file_access: 'check_file_info', created: 0, timestamp: 0, user: '' };
    return info;
  }

  /** A response_url for a slash command or an interaction. */
  responseUrl(channel: string, user: string): string {
    return `${this.baseUrl}/respond/${encodeURIComponent(channel)}/${encodeURIComponent(user)}`;
  }

  /** Visible (not deleted) messages of a thread after its root, ephemeral ones included, in order. */
  thread(channel: string, threadTs: string): FakeMessage[] {
    return this.messages.filter(
      (m) => m.channel === channel && m.threadTs === threadTs && m.ts !== threadTs && !m.deleted,
    );
  }

  /** Visible top-level messages of a channel, in order. */
  topLevel(channel: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel && !m.threadTs && !m.deleted);
  }

  find(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /**
   * Sends a Socket Mode envelope; resolves with the client's ack payload. As Slack does, an
   * envelope is held while no connection is open, and one not acked within socketAckTimeoutMs is
   * sent again with retry_attempt + 1 and retry_reason "timeout" (up to 3 retries).
   */
  sendSocket(envelope: SocketEnvelope): Promise<unknown> {
    const id = randomBytes(8).toString('hex');
    const acked = new Promise<unknown>((resolve) => this.acks.set(id, resolve));
    const deliver = (attempt: number, reason: string) => {
      if (!this.acks.has(id)) return;
      const frame = JSON.stringify({
        envelope_id: id,
        type: envelope.type,
        payload: envelope.payload,
        accepts_response_payload: envelope.type !== 'events_api',
        retry_attempt: attempt,
        retry_reason: reason,
      });
      const open = [...this.sockets].filter((ws) => ws.readyState === ws.OPEN);
      if (open.length === 0) this.held.push(() => deliver(attempt, reason));
      else {
        // One connection gets each envelope, as Slack spreads them over an app's connections.
        (open.at(-1) as WebSocket).send(frame);
        this.socketDeliveries.push({ id, attempt });
        if (attempt < 3) this.later(this.limits.socketAckTimeoutMs, () => deliver(attempt + 1, 'timeout'));
      }
    };
    deliver(envelope.retryAttempt ?? 0, envelope.retryReason ?? '');
    return acked;
  }

  /**
   * A `disconnect` message on the open connections (reason "refresh_requested" or "warning"): the
   * client is expected to open a new connection; Slack closes the old one shortly after.
   */
  sendDisconnect(reason: 'refresh_requested' | 'warning' | 'link_disabled'): void {
    const old = [...this.sockets];
    for (const ws of old)
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
    this.later(1000, () => {
      for (const ws of old) ws.close();
    });
  }

  /** Slack's `message` event for a message of the bot (posted, shared files, or edited). */
  private echo(m: FakeMessage, change?: 'message_changed'): void {
    if (!this.onBotMessage || m.ephemeralTo) return;
    const type = m.channel.startsWith('D') ? 'im' : m.channel.startsWith('G') ? 'group' : 'channel';
    const message = {
      type: 'message',
      user: m.user,
      ...(m.files.length
        ? { subtype: 'file_share', files: m.files.map((f) => ({ id: f.id, name: f.name })) }
        : {}),
      // Messages posted with the bot token carry bot_id; a file share by the bot user only its user.
      ...(m.via === 'chat.postMessage'
        ? { bot_id: this.botOfTeam(m.team).botId, app_id: this.identity.appId }
        : {}),
      text: m.text,
      ts: m.ts,
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    };
    const team = m.team ?? this.identity.teamId;
    this.onBotMessage(
      change
        ? {
            type: 'message',
            subtype: change,
            hidden: true,
            channel: m.channel,
            channel_type: type,
            message,
            ts: this.nextTs(),
          }
        : { ...message, channel: m.channel, channel_type: type },
      team,
    );
  }

  /** Whether `authorization` carries a live bot token of the workspace the file is shared in. */
  private downloads(file: HostedFile, authorization: string | undefined): boolean {
    const bot = this.tokens.get(authorization?.replace(/^Bearer /, '') ?? '');
    return Boolean(bot && !bot.revoked && bot.teamId === file.team);
  }

  /** The bot of a workspace (the default one's when `team` is absent). */
  private botOfTeam(team: string | undefined): FakeBot {
    if (team === undefined || team === this.identity.teamId)
      return this.tokens.get(this.identity.botToken) as FakeBot;
    return this.workspaces.get(team) as FakeBot;
  }

  /** The bot is not (or no longer) a member of `channel`: posting there answers not_in_channel. */
  removeBotFrom(channel: string): void {
    this.notIn.add(channel);
  }

  /** Runs `fn` after `ms` unless the fake closes first. */
  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /**
   * Slack's rate limits for `method` (per workspace; chat.postMessage per channel): the
   * Retry-After seconds when this call is over them, else null (and the call is counted).
   */
  private rateLimited(method: string, p: Record<string, unknown>): number | null {
    const now = Date.now();
    if (method === 'chat.update' || method === 'chat.delete') {
      const recent = (this.tier3Calls.get(method) ?? []).filter((t) => t > now - 60_000);
      this.tier3Calls.set(method, recent);
      if (recent.length >= this.limits.tier3PerMinute)
        return Math.max(1, Math.ceil(((recent[0] as number) + 60_000 - now) / 1000));
      recent.push(now);
    }
    if (method === 'chat.postMessage' && p.channel) {
      const key = String(p.channel);
      const b = this.postBuckets.get(key) ?? { tokens: this.limits.postBurst, at: now };
      b.tokens = Math.min(this.limits.postBurst, b.tokens + (now - b.at) / 1000);
      b.at = now;
      this.postBuckets.set(key, b);
      if (b.tokens < 1) return 1;
      b.tokens -= 1;
    }
    return null;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    await closeServer(this.server);
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { envelope_id?: string; payload?: unknown };
      if (msg.envelope_id) {
        if (this.loseAcks > 0) {
          this.loseAcks--;
          return;
        }
        this.acks.get(msg.envelope_id)?.(msg.payload ?? {});
        this.acks.delete(msg.envelope_id);
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'fake-slack', approximate_connection_time: 18060 },
        connection_info: { app_id: this.identity.appId },
      }),
    );
    this.connectedResolve?.();
    const held = this.held;
    this.held = [];
    for (const deliver of held) deliver();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const body = await readBody(req);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      sendJson(res, status, payload, { 'content-type': 'application/json; charset=utf-8', ...headers });
    };
    if (url.pathname.startsWith('/api/')) {
      const method = url.pathname.slice('/api/'.length);
      const params = parseParams(req, body);
      const retryAfter = this.rateLimited(method, params);
      const failure: Failure | undefined =
        retryAfter !== null ? { status: 429, retryAfter } : this.failures.get(method)?.shift();
      if (failure && 'status' in failure) {
        this.calls.push({ method, status: failure.status, params });
        send(
          failure.status,
          { ok: false, error: failure.status === 429 ? 'ratelimited' : 'fatal_error' },
          failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {},
        );
        return;
      }
      this.calls.push({ method, status: 200, params });
      if (failure) {
        send(200, { ok: false, error: failure.error });
        return;
      }
      send(200, this.api(method, params, req.headers.authorization));
      return;
    }
    if (url.pathname.startsWith('/upload/')) {
      const file = this.pendingUploads.get(url.pathname.slice('/upload/'.length));
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      file.bytes = body.length;
      file.png = body.includes(PNG_SIGNATURE);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${body.length}`);
      return;
    }
    if (url.pathname.startsWith('/files-pri/')) {
      this.downloadAuth.push(req.headers.authorization);
      const file = this.hostedFiles.get(url.pathname.split('/')[2] ?? '');
      if (file?.redirectTo) {
        res.writeHead(302, { location: file.redirectTo }).end();
        return;
      }
      if (!file || file.info.mode === 'hidden_by_limit' || !this.downloads(file, req.headers.authorization)) {
        // Slack answers an unauthenticated download with its login page, not the file.
        res.writeHead(file ? 302 : 404, { location: 'https://slack.com/signin' }).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': file.mimetype, 'content-length': String(file.data.length) })
        .end(file.data);
      return;
    }
    if (url.pathname.startsWith('/respond/')) {
      const [, , channel = '', user = ''] = url.pathname.split('/').map(decodeURIComponent);
      const payload = parseParams(req, body);
      this.calls.push({ method: 'response_url', status: 200, params: payload });
      this.messages.push({
        channel,
        ts: this.nextTs(),
        user: this.identity.botUserId,
        text: String(payload.text ?? ''),
        files: [],
        ...(payload.response_type === 'in_channel' ? {} : { ephemeralTo: user }),
        via: 'response_url',
        deleted: false,
        edits: 0,
      });
      send(200, { ok: true });
      return;
    }
    res.writeHead(404).end();
  }

  private api(
    method: string,
    p: Record<string, unknown>,
    authorization: string | undefined,
  ): Record<string, unknown> {
    const token = authorization?.replace(/^Bearer /, '') || (p.token as string | undefined);
    if (method === 'apps.connections.open') {
      if (token !== this.identity.appToken) return { ok: false, error: 'invalid_auth' };
      return {
        ok: true,
        url: `${this.baseUrl.replace('http:', 'ws:')}/socket?ticket=fake`,
      };
    }
    if (method === 'oauth.v2.access') return this.oauthAccess(p, authorization);
    const bot = token ? this.tokens.get(token) : undefined;
    if (!bot) return { ok: false, error: 'invalid_auth' };
    if (bot.revoked) return { ok: false, error: 'token_revoked' };
    const id = bot;
    // A bot sees only its own workspace's conversations: another team's channel does not exist for it.
    const channelParam = (p.channel ?? p.channel_id) as string | undefined;
    if (channelParam && this.teamOf(channelParam) !== bot.teamId)
      return { ok: false, error: 'channel_not_found' };
    const team = bot.teamId === this.identity.teamId ? {} : { team: bot.teamId };
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: id.teamName,
          user: 'genir',
          team_id: id.teamId,
          user_id: id.botUserId,
          bot_id: id.botId,
        };
      case 'users.info': {
        // https://api.slack.com/methods/users.info: user ids are U… or W… (Enterprise Grid).
        const user = typeof p.user === 'string' ? p.user : '';
        if (!user) return { ok: false, error: 'invalid_arguments' };
        if (!/^[UW][A-Z0-9]+$/.test(user)) return { ok: false, error: 'user_not_found' };
        const owner = this.workspaceOwners.has(user);
        return {
          ok: true,
          user: {
            id: user,
            team_id: id.teamId,
            name: user.toLowerCase(),
            deleted: false,
            is_bot: false,
            is_admin: owner || this.workspaceAdmins.has(user),
            is_owner: owner,
            is_primary_owner: false,
          },
        };
      }
      case 'chat.postMessage':
      case 'chat.postEphemeral': {
        const channel = p.channel as string | undefined;
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (this.notIn.has(channel)) return { ok: false, error: 'not_in_channel' };
        const blocks = json<Block[]>(p.blocks);
        const text = (p.text as string | undefined) ?? '';
        if (!text && !blocks) return { ok: false, error: 'no_text' };
        if (text.length > 40_000) return { ok: false, error: 'msg_too_long' };
        const problem = blocks ? blockKitProblem(blocks) : null;
        if (problem) return { ok: false, error: 'invalid_blocks', errors: [problem] };
        const ephemeral = method === 'chat.postEphemeral';
        if (ephemeral && !p.user) return { ok: false, error: 'user_not_in_channel' };
        const metadata = json<FakeMessage['metadata']>(p.metadata);
        const m: FakeMessage = {
          channel,
          ts: this.nextTs(),
          ...(p.thread_ts ? { threadTs: String(p.thread_ts) } : {}),
          user: id.botUserId,
          text,
          ...(blocks ? { blocks, firstBlocks: blocks } : {}),
          ...(metadata ? { metadata } : {}),
          files: [],
          ...(ephemeral ? { ephemeralTo: String(p.user) } : {}),
          ...team,
          via: method,
          deleted: false,
          edits: 0,
        };
        this.messages.push(m);
        this.echo(m);
        return ephemeral
          ? { ok: true, message_ts: m.ts }
          : {
              ok: true,
              channel,
              ts: m.ts,
              message: { type: 'message', text, user: id.botUserId, bot_id: id.botId, ts: m.ts },
            };
      }
      case 'chat.update': {
        const m = this.find(String(p.channel), String(p.ts));
        if (!m || m.deleted) return { ok: false, error: 'message_not_found' };
        if (m.user !== id.botUserId) return { ok: false, error: 'cant_update_message' };
        const blocks = json<Block[]>(p.blocks);
        const problem = blocks ? blockKitProblem(blocks) : null;
        if (problem) return { ok: false, error: 'invalid_blocks', errors: [problem] };
        if (p.text !== undefined) m.text = String(p.text);
        if (blocks) m.blocks = blocks;
        else delete m.blocks;
        m.edits++;
        this.echo(m, 'message_changed');
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
      }
      case 'chat.delete': {
        const m = this.find(String(p.channel), String(p.ts));
        if (!m || m.deleted) return { ok: false, error: 'message_not_found' };
        m.deleted = true;
        return { ok: true, channel: m.channel, ts: m.ts };
      }
      case 'files.info': {
        const file = this.hostedFiles.get(String(p.file));
        if (!file || file.team !== bot.teamId) return { ok: false, error: 'file_not_found' };
        return { ok: true, file: file.info };
      }
      case 'files.getUploadURLExternal': {
        if (!p.filename || !p.length) return { ok: false, error: 'invalid_arguments' };
        // The documented argument is alt_txt; anything else (alt_text) is not an argument and is ignored.
        const alt = p.alt_txt === undefined ? undefined : String(p.alt_txt);
        if (alt && alt.length > 1000) return { ok: false, error: 'alt_txt_too_large' };
        const fileId = `F${randomBytes(4).toString('hex').toUpperCase()}`;
        this.pendingUploads.set(fileId, {
          id: fileId,
          name: String(p.filename),
          bytes: 0,
          png: false,
          ...(alt !== undefined ? { alt } : {}),
        });
        return { ok: true, upload_url: `${this.baseUrl}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const files = json<{ id: string; title?: string }[]>(p.files) ?? [];
        const done: FakeFile[] = [];
        for (const f of files) {
          const pending = this.pendingUploads.get(f.id);
          if (!pending || pending.bytes === 0) return { ok: false, error: 'file_not_found' };
          this.pendingUploads.delete(f.id);
          done.push({ ...pending, ...(f.title ? { title: f.title } : {}) });
        }
        const infos = done.map((f) => {
          const info: Record<string, unknown> = {
            id: f.id,
            name: f.name,
            title: f.title ?? f.name,
            mimetype: f.png ? 'image/png' : 'application/octet-stream',
            size: f.bytes,
            ...(f.alt !== undefined ? { alt_txt: f.alt } : {}),
            // Not shared yet: Slack processes the upload, then posts the files' message.
            shares: {},
          };
          this.hostedFiles.set(f.id, {
            data: Buffer.alloc(0),
            mimetype: String(info.mimetype),
            info,
            team: id.teamId,
          });
          return info;
        });
        const channel = p.channel_id ? String(p.channel_id) : undefined;
        if (channel && this.notIn.has(channel)) return { ok: false, error: 'not_in_channel' };
        if (channel) {
          this.later(this.limits.processingMs, () => {
            const m: FakeMessage = {
              channel,
              ts: this.nextTs(),
              ...(p.thread_ts ? { threadTs: String(p.thread_ts) } : {}),
              user: id.botUserId,
              text: (p.initial_comment as string | undefined) ?? '',
              files: done,
              ...team,
              via: 'files.completeUploadExternal',
              deleted: false,
              edits: 0,
            };
            this.messages.push(m);
            this.echo(m);
            const share = { ts: m.ts, ...(m.threadTs ? { thread_ts: m.threadTs } : {}) };
            for (const info of infos)
              info.shares = { [channel.startsWith('C') ? 'public' : 'private']: { [channel]: [share] } };
          });
        }
        return { ok: true, files: infos.map((f) => ({ ...f })) };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
