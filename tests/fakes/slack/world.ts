/**
 * A Slack world for tests: the fake Slack, a fast engine on fakes, and the real bot
 * (bots/slack.ts → Bolt App → SlackAdapter) with its Web API client pointed at the fake, driven
 * by signed HTTP requests (or Socket Mode envelopes), plus a ChatHarness for the contract suite.
 */

import { randomBytes } from 'node:crypto';
import { FOUND_EVENT, MORE_SELECT, PICK_SELECT, ROUND_EVENT } from '../../../adapters/chat/slack/renderer.ts';
import { openSqliteStores } from '../../../adapters/store/sqlite/index.ts';
import { loadConfig } from '../../../bots/config.ts';
import { createSlackFrontEnd } from '../../../bots/slack.ts';
import { TenantLifecycle } from '../../../bots/tenant-lifecycle.ts';
import { type ActionName, decodeActionId, isThreadless } from '../../../commands/index.ts';
import type { EngineOptions } from '../../../core/engine.ts';
import type { GalleryResolver, TenantInstallations } from '../../../core/ports.ts';
import type { ChatHarness, HarnessPost } from '../../contracts/chat-adapter.ts';
import { engineWorld } from '../../support/engine-world.ts';
import { type FakeMessage, FakeSlack } from './fake-slack.ts';
import { SlackRequestSender, slackEscape } from './signer.ts';

export const SIGNING_SECRET = 'fake-signing-secret-0123456789';
export const PERSON = 'UPERSON';

export interface SlackWorldOptions {
  socket?: boolean;
  progress?: boolean;
  engine?: Partial<EngineOptions>;
  /** The bot's chat.update / chat.delete budget per minute, and the fake's Tier 3 limit (default 45 / 50). */
  tier3PerMinute?: number;
  /** Told of the workspace being served and uninstalling the app; in OAuth mode, the installation store. */
  tenants?: TenantInstallations;
  /** OAuth mode (SLACK_CLIENT_ID…, no bot token): workspaces install the app at /slack/install. */
  oauth?: boolean;
  galleries?: GalleryResolver;
  /** A fake Slack that outlives this world (a restart of the bot); closed by its owner. */
  fake?: FakeSlack;
}

/** A page the browser is shown at the end of an install. */
export interface InstallPage {
  status: number;
  text: string;
}

/** What a browser keeps of /slack/install: where Slack's authorize page was, and the state cookie. */
export interface InstallStart {
  authorizeUrl: URL;
  state: string;
  cookie: string;
}

export interface PersonMessage {
  channel: string;
  text: string;
  user?: string;
  threadTs?: string;
  /** The workspace it is sent from (default: the fake's default workspace). */
  team?: string;
  channelType?: 'channel' | 'group' | 'im' | 'mpim';
  files?: Record<string, unknown>[];
  /** Extra event fields (subtype, bot_id…). */
  extra?: Record<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON
type Block = Record<string, any>;

export type SlackWorld = Awaited<ReturnType<typeof slackWorld>>;

export async function slackWorld(options: SlackWorldOptions = {}) {
  const fake = options.fake ?? (await FakeSlack.start());
  if (options.tier3PerMinute !== undefined) fake.limits.tier3PerMinute = options.tier3PerMinute;
  const world = await engineWorld({
    ...options.engine,
    ...(options.galleries ? { galleries: options.galleries } : {}),
  });
  const config = loadConfig(
    {
      ...(options.oauth
        ? {
            SLACK_CLIENT_ID: fake.identity.clientId,
            SLACK_CLIENT_SECRET: fake.identity.clientSecret,
            SLACK_STATE_SECRET: 'fake-state-secret-0123456789abcdef',
          }
        : { SLACK_BOT_TOKEN: fake.identity.botToken }),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_PORT: '0',
      SLACK_API_URL: fake.apiUrl,
      LOG_LEVEL: 'silent',
      ...(options.socket ? { SLACK_APP_TOKEN: fake.identity.appToken } : {}),
    },
    { dotenv: false },
  );
  const logs: { level: string; obj: object; msg?: string }[] = [];
  const logger = {
    info: (obj: object, msg?: string) => logs.push({ level: 'info', obj, ...(msg ? { msg } : {}) }),
    warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj, ...(msg ? { msg } : {}) }),
    error: (obj: object, msg?: string) => logs.push({ level: 'error', obj, ...(msg ? { msg } : {}) }),
  };
  const bot = await createSlackFrontEnd(
    { engine: world.engine, config, logger, ...(options.tenants ? { tenants: options.tenants } : {}) },
    {
      // Retry-After is still honoured; only the extra backoff between attempts is short.
      clientOptions: { retryConfig: { retries: 3, minTimeout: 5, maxTimeout: 20 } },
      postIntervalMs: 0,
      host: '127.0.0.1',
      fileOrigins: [fake.baseUrl],
      ...(options.progress !== undefined ? { progress: options.progress } : {}),
      ...(options.tier3PerMinute !== undefined ? { tier3PerMinute: options.tier3PerMinute } : {}),
    },
  );

  // Every request Bolt takes in is tracked until its listeners have run, so `idle()` cannot miss
  // an event whose HTTP response (the ack) arrived before its listener was called.
  const inflight = new Set<Promise<unknown>>();
  const processEvent = bot.app.processEvent.bind(bot.app);
  bot.app.processEvent = (event) => {
    const p = processEvent(event);
    inflight.add(p);
    void p.catch(() => {}).finally(() => inflight.delete(p));
    return p;
  };
  await bot.start();
  const base = `http://127.0.0.1:${bot.port ?? 0}`;
  const sender = new SlackRequestSender(`${base}/slack/events`, SIGNING_SECRET, fake.identity);
  /** Signed requests as Slack sends them for `team`'s events (its bot user in `authorizations`). */
  const senderFor = (team?: string): SlackRequestSender => {
    if (team === undefined || team === fake.identity.teamId) return sender;
    const bot = fake.workspace(team) ?? fake.addWorkspace(team);
    return new SlackRequestSender(`${base}/slack/events`, SIGNING_SECRET, {
      ...fake.identity,
      teamId: team,
      botUserId: bot.botUserId,
    });
  };

  // Slack echoes the bot's own messages back as `message` events; so does the fake, by default.
  const echoes = new Set<Promise<unknown>>();
  fake.onBotMessage = (event, team) => {
    const delivery = (
      options.socket
        ? fake.sendSocket({ type: 'events_api', payload: JSON.parse(sender.eventBody(event)) })
        : senderFor(team).event(event)
    ).then(
      () => undefined,
      (err: unknown) => {
        // Only a bot that has been stopped may refuse its echoes.
        if (fake.onBotMessage) throw err;
      },
    );
    echoes.add(delivery);
    void delivery.catch(() => {}).finally(() => echoes.delete(delivery));
  };

  const idle = async () => {
    do {
      await Promise.all([...echoes]);
      await Promise.allSettled([...inflight]);
      await bot.idle();
    } while (inflight.size > 0 || echoes.size > 0);
  };

  const personEvent = (m: PersonMessage, ts: string, type: 'message' | 'app_mention') => ({
    type,
    user: m.user ?? PERSON,
    text: slackEscape(m.text),
    ts,
    channel: m.channel,
    ...(type === 'message'
      ? { channel_type: m.channelType ?? (m.channel.startsWith('D') ? 'im' : 'channel') }
      : {}),
    ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    ...(m.files ? { files: m.files, ...(type === 'message' ? { subtype: 'file_share' } : {}) } : {}),
    ...m.extra,
  });

  /** A person's message: stored in the fake and delivered as a `message` event; returns its ts. */
  const say = async (m: PersonMessage): Promise<string> => {
    const ts = fake.addPersonMessage(m.channel, m.user ?? PERSON, m.text, m.threadTs).ts;
    const res = await senderFor(m.team).event(personEvent(m, ts, 'message'));
    if (res.status !== 200) throw new Error(`event refused: ${res.status}`);
    return ts;
  };

  /** A message that mentions the bot: Slack sends both `app_mention` and `message`; returns its ts. */
  const mention = async (m: PersonMessage): Promise<string> => {
    const text = `<@${fake.identity.botUserId}> ${m.text}`;
    const ts = fake.addPersonMessage(m.channel, m.user ?? PERSON, text, m.threadTs).ts;
    // The raw mention markup must not be escaped: build the events by hand.
    const events = (['app_mention', 'message'] as const).map((type) => ({
      ...personEvent(m, ts, type),
      text: `<@${fake.identity.botUserId}> ${slackEscape(m.text)}`,
    }));
    await Promise.all(events.map((e) => sender.event(e)));
    return ts;
  };

  /** `/genir <text>` in a channel; returns the ts of the root message the bot posted (after it is idle). */
  const command = async (
    channel: string,
    text: string,
    user = PERSON,
    team?: string,
  ): Promise<string | undefined> => {
    const res = await senderFor(team).command({
      text: slackEscape(text),
      channel,
      user,
      responseUrl: fake.responseUrl(channel, user),
    });
    if (res.status !== 200) throw new Error(`command refused: ${res.status}`);
    await idle();
    return fake
      .topLevel(channel)
      .filter((m) => m.via !== 'person' && !m.ephemeralTo)
      .at(-1)?.ts;
  };

  /** The bot's posts in a thread (or at the top level of a DM when threadTs is undefined). */
  const botMessages = (channel: string, threadTs?: string): FakeMessage[] =>
    (threadTs ? fake.thread(channel, threadTs) : fake.topLevel(channel)).filter((m) => m.via !== 'person');

  const roundMessages = (channel: string, threadTs?: string) =>
    botMessages(channel, threadTs).filter((m) => m.metadata?.event_type === ROUND_EVENT);

  /** Presses a control the way a person's Slack client would, from the blocks it was first shown. */
  const press = async (
    channel: string,
    threadTs: string | undefined,
    action: ActionName,
    n?: number,
    round?: number,
    user = PERSON,
    team?: string,
  ): Promise<void> => {
    await idle();
    const rounds = roundMessages(channel, threadTs);
    const m =
      round === undefined
        ? rounds.at(-1)
        : rounds.filter((r) => r.metadata?.event_payload.round === round).at(-1);
    if (!m) throw new Error(`no round ${round ?? '(latest)'} message in ${channel}/${threadTs}`);
    const controls = (m.firstBlocks ?? []).find((b: Block) => b.type === 'actions') as Block;
    let act: Record<string, unknown>;
    if (action === 'pick' || action === 'more') {
      const select = (controls.elements as Block[]).find(
        (e) => e.action_id === (action === 'pick' ? PICK_SELECT : MORE_SELECT),
      );
      const option = ((select?.options ?? []) as Block[])[(n ?? 1) - 1];
      if (!select || !option) throw new Error(`no option ${n} for ${action}`);
      act = {
        type: 'static_select',
        action_id: select.action_id,
        block_id: controls.block_id,
        selected_option: option,
        placeholder: select.placeholder,
      };
    } else {
      const button = (controls.elements as Block[]).find(
        (e) => e.type === 'button' && decodeActionId(e.value)?.action === action,
      );
      if (!button) throw new Error(`no ${action} button`);
      act = {
        type: 'button',
        action_id: button.action_id,
        block_id: controls.block_id,
        value: button.value,
        text: button.text,
      };
    }
    const res = await senderFor(team).interaction(
      blockActions(channel, m, user, { ...act, action_ts: `${Date.now() / 1000}` }, team),
    );
    if (res.status !== 200) throw new Error(`interaction refused: ${res.status}`);
  };

  const blockActions = (
    channel: string,
    m: FakeMessage,
    user: string,
    action: Record<string, unknown>,
    team = fake.identity.teamId,
  ) => ({
    type: 'block_actions',
    user: { id: user, username: 'person', name: 'person', team_id: team },
    api_app_id: fake.identity.appId,
    token: 'legacy-verification-token',
    container: {
      type: 'message',
      message_ts: m.ts,
      channel_id: channel,
      is_ephemeral: false,
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    },
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    team: { id: team, domain: 'fake' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'general' },
    message: {
      type: 'message',
      user: m.user,
      ts: m.ts,
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
      text: m.text,
      blocks: m.firstBlocks,
    },
    state: { values: {} },
    response_url: fake.responseUrl(channel, user),
    actions: [action],
  });

  /**
   * The bot's posts as the contract sees them: files are counted into the round/found message after
   * them. `asides` are top-level messages of the channel (by ts) that belong to the conversation too:
   * the answers to `/genir …` commands the person typed in the channel while in the thread.
   */
  const posts = async (
    channel: string,
    threadTs?: string,
    asides: ReadonlySet<string> = new Set(),
  ): Promise<HarnessPost[]> => {
    await idle();
    const out: HarnessPost[] = [];
    let images = 0;
    const inThread = new Set(botMessages(channel, threadTs));
    const shown = fake.messages.filter(
      (m) => inThread.has(m) || (m.channel === channel && !m.threadTs && !m.deleted && asides.has(m.ts)),
    );
    for (const m of shown) {
      if (m.files.length > 0 && !m.text) {
        images += m.files.length;
        continue;
      }
      const kind =
        m.metadata?.event_type === ROUND_EVENT
          ? 'round'
          : m.metadata?.event_type === FOUND_EVENT
            ? 'found'
            : 'notice';
      out.push({
        kind,
        text: visibleText(m),
        images: kind === 'notice' ? m.files.length : images,
        ...(kind === 'round' ? { round: Number(m.metadata?.event_payload.round) } : {}),
        ...(m.ephemeralTo ? { ephemeral: true } : {}),
      });
      if (kind !== 'notice') images = 0;
    }
    return out;
  };

  /** A browser opening the install link: Bolt answers with a redirect to Slack and a state cookie. */
  const startInstall = async (): Promise<InstallStart> => {
    const res = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (res.status !== 302 || !location) throw new Error(`/slack/install answered ${res.status}`);
    const authorizeUrl = new URL(location);
    return {
      authorizeUrl,
      state: authorizeUrl.searchParams.get('state') ?? '',
      cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '',
    };
  };

  /** Slack sending the browser back to the app with `code` and `state` (and the browser's cookie). */
  const redirectBack = async (code: string, state: string, cookie: string): Promise<InstallPage> => {
    const query = new URLSearchParams({ code, state });
    const res = await fetch(`${base}/slack/oauth_redirect?${query}`, {
      headers: cookie ? { cookie } : {},
      redirect: 'manual',
    });
    return { status: res.status, text: await res.text() };
  };

  /** The whole install for `team` (a fake workspace): link, Allow on Slack's page, redirect back. */
  const install = async (team: string): Promise<InstallPage & { code: string; start: InstallStart }> => {
    fake.addWorkspace(team);
    const start = await startInstall();
    const code = fake.approveInstall(team, { scopes: start.authorizeUrl.searchParams.get('scope') ?? '' });
    return { ...(await redirectBack(code, start.state, start.cookie)), code, start };
  };

  return {
    fake,
    world,
    bot,
    base,
    startInstall,
    redirectBack,
    install,
    sender,
    senderFor,
    logs,
    idle,
    say,
    mention,
    command,
    press,
    posts,
    botMessages,
    roundMessages,
    async close() {
      await idle();
      fake.onBotMessage = null;
      await bot.stop();
      if (!options.fake) await fake.close();
    },
  };
}

/** What a person sees of a message: its blocks' text, or its text. */
export function visibleText(m: FakeMessage): string {
  if (!m.blocks) return m.text;
  const texts: string[] = [];
  for (const b of m.blocks as Block[]) {
    if (b.text?.text) texts.push(b.text.text);
    for (const e of (b.type === 'context' ? b.elements : []) as Block[]) if (e.text) texts.push(e.text);
  }
  return texts.join('\n');
}

/** A TenantLifecycle on an in-memory SQLite tenant store, as a deployment's OAuth installations. */
function memoryInstallations() {
  const stores = openSqliteStores(':memory:');
  const silent = { info() {}, warn() {}, error() {} };
  const forgetTenant = async () => ({ threads: 0, records: 0 });
  const tenants = new TenantLifecycle(
    { tenants: stores.tenants, bindings: stores.bindings, forgetTenant, logger: silent },
    30,
  );
  return { stores, tenants };
}

/**
 * The contract harness: searches start with /genir in a fresh channel; threads are "<channel> <root
 * ts>". With `oauth`, the bot runs in OAuth mode and the harness's workspace installs it first.
 */
export async function slackHarness(options: { oauth?: boolean } = {}): Promise<ChatHarness> {
  const deployment = options.oauth ? memoryInstallations() : undefined;
  const w = await slackWorld(deployment ? { oauth: true, tenants: deployment.tenants } : {});
  const team = deployment ? 'TGENIR' : w.fake.identity.teamId;
  const installed = deployment ? await w.install(team) : undefined;
  if (installed && installed.status !== 200) throw new Error(`the install failed: ${installed.text}`);
  let channels = 0;
  /** A fresh channel of the harness's workspace. */
  const newChannel = () => {
    const channel = `C${String(++channels).padStart(4, '0')}`;
    if (deployment) w.fake.addWorkspace(team, [channel]);
    return channel;
  };
  const split = (thread: string) => thread.split(' ') as [string, string];
  // Slack runs an app's slash commands only from a channel's message box, never in a thread: for
  // forget (and help, status, export) the person types `/genir <command>` in the channel and the
  // answer shows there, to them only. Those answers are part of the thread's conversation here.
  const asides = new Map<string, Set<string>>();
  return {
    frontEnd: w.bot,
    async startInForeignTenant(text) {
      const url = `http://127.0.0.1:${w.bot.port}/slack/events`;
      const other = new SlackRequestSender(url, SIGNING_SECRET, { ...w.fake.identity, teamId: 'TFOREIGN' });
      const channel = `C${String(++channels).padStart(4, '0')}`;
      await other.command({ text, channel, user: PERSON, responseUrl: w.fake.responseUrl(channel, PERSON) });
      await w.idle();
    },
    publicPostCount: () => w.fake.messages.filter((m) => m.via !== 'person' && !m.ephemeralTo).length,
    async start(text) {
      const channel = newChannel();
      const root = await w.command(channel, text, PERSON, team);
      if (!root) throw new Error('the bot posted no root message');
      return `${channel} ${root}`;
    },
    async say(thread, text) {
      const [channel, threadTs] = split(thread);
      await w.say({ channel, threadTs, text, team });
    },
    async act(thread, action, n, round) {
      const [channel, threadTs] = split(thread);
      if (action === 'help' || isThreadless(action)) {
        const before = new Set(w.fake.topLevel(channel));
        await w.command(channel, action, PERSON, team);
        const answers = w.fake.topLevel(channel).filter((m) => !before.has(m) && m.via === 'response_url');
        asides.set(thread, new Set([...(asides.get(thread) ?? []), ...answers.map((m) => m.ts)]));
        return;
      }
      await w.press(channel, threadTs, action, n, round, PERSON, team);
    },
    async posts(thread) {
      const [channel, threadTs] = split(thread);
      return w.posts(channel, threadTs, asides.get(thread));
    },
    ...(deployment && installed
      ? {
          installs: {
            async installations() {
              const teams = [team, 'TFORGED'];
              const found = await Promise.all(
                teams.map((t) => deployment.tenants.installation(`slack:${t}`)),
              );
              return found.filter((i) => i !== null).length;
            },
            async forgedState() {
              // The attacker controls both the state and the browser's cookie, but cannot sign a state.
              w.fake.addWorkspace('TFORGED');
              const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJub3ciOjB9.forged';
              return w.redirectBack(
                w.fake.approveInstall('TFORGED'),
                forged,
                `slack-app-oauth-state=${forged}`,
              );
            },
            replayInstall: () =>
              w.redirectBack(installed.code, installed.start.state, installed.start.cookie),
            async uninstall() {
              w.fake.uninstall(team);
              await w.senderFor(team).event({ type: 'app_uninstalled' });
              await w.idle();
            },
            async attempt(text: string) {
              await w.command(newChannel(), text, PERSON, team);
            },
          },
        }
      : {}),
    close: async () => {
      w.fake.onBotMessage = null;
      await w.fake.close();
      deployment?.stores.db.close();
    },
  };
}
