/**
 * A ready-to-use world for Discord tests: the fake Discord, an engine on fakes, and the real
 * DiscordAdapter (real discord.js Client) connected to the fake. Also the chat-contract harness.
 */
import { Events, SnowflakeUtil } from 'discord.js';
import { afterEach } from 'vitest';
import { DiscordAdapter, type DiscordAdapterOptions } from '../../../adapters/chat/discord/adapter.ts';
import { FOUND_PREFIX, ROUND_TITLE } from '../../../adapters/chat/discord/renderer.ts';
import { type ActionName, decodeActionId, isThreadless } from '../../../commands/index.ts';
import type { EngineOptions } from '../../../core/engine.ts';
import type { ChatHarness, HarnessPost } from '../../contracts/chat-adapter.ts';
import { engineWorld } from '../../support/engine-world.ts';
import { FakeDiscord, type FakePost, type FakeUser } from './server.ts';

type Json = Record<string, unknown>;

export interface DiscordWorld {
  fake: FakeDiscord;
  world: Awaited<ReturnType<typeof engineWorld>>;
  adapter: DiscordAdapter;
  /** Waits until the adapter has handled these gateway events and the engine is idle. */
  settle(...eventIds: string[]): Promise<void>;
  /** `/find description:<text>` in a channel; resolves with the thread the bot created (or used). */
  find(text: string, o?: { channelId?: string; user?: FakeUser }): Promise<string>;
  /** A person's message; resolves once handled. */
  say(
    channelId: string,
    content: string,
    o?: { author?: FakeUser; attachments?: Parameters<FakeDiscord['sendMessage']>[0]['attachments'] },
  ): Promise<string>;
  /** The bot's round posts in a thread, in order. */
  roundPosts(threadId: string): FakePost[];
  /** Press a round post's control: menus for pick/more (with n), buttons for the rest. */
  press(post: FakePost, action: ActionName, n?: number, user?: FakeUser): Promise<string>;
  close(): Promise<void>;
}

export async function discordWorld(
  o: {
    /** Adapter options, or a function of the fake (for options that name its channel ids). */
    adapter?: Partial<DiscordAdapterOptions> | ((fake: FakeDiscord) => Partial<DiscordAdapterOptions>);
    engine?: Partial<EngineOptions> & { assets?: number };
  } = {},
): Promise<DiscordWorld> {
  const fake = await FakeDiscord.start();
  const world = await engineWorld(o.engine ?? {});
  const adapter = new DiscordAdapter(world.engine, {
    token: fake.token,
    applicationId: fake.applicationId,
    apiUrl: fake.apiUrl,
    ...(typeof o.adapter === 'function' ? o.adapter(fake) : o.adapter),
  });
  // The adapter's listeners were added first, so once the client has emitted an event here the
  // adapter has taken it in, and its idle() covers it.
  const emitted = new Set<string>();
  const waiting = new Map<string, () => void>();
  const saw = (id: string) => {
    emitted.add(id);
    waiting.get(id)?.();
  };
  adapter.client.on(Events.MessageCreate, (m) => saw(m.id));
  adapter.client.on(Events.InteractionCreate, (i) => saw(i.id));
  const received = (id: string) =>
    emitted.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(id, resolve));
  await adapter.start();

  const settle = async (...ids: string[]) => {
    await Promise.all(ids.map(received));
    await adapter.idle();
  };
  const w: DiscordWorld = {
    fake,
    world,
    adapter,
    settle,
    async find(text, opts = {}) {
      const channelId = opts.channelId ?? fake.channels.general;
      const id = await fake.runSlash({
        channelId,
        name: 'find',
        options: { description: text },
        ...(opts.user ? { user: opts.user } : {}),
      });
      await settle(id);
      if (fake.channel(channelId)?.parent_id) return channelId;
      const thread = fake.threadsOf(channelId).at(-1);
      if (!thread) throw new Error(`no thread was created for "${text}"`);
      return thread.id;
    },
    async say(channelId, content, opts = {}) {
      const id = await fake.sendMessage({ channelId, content, ...opts });
      await settle(id);
      return id;
    },
    roundPosts(threadId) {
      return fake.botPostsIn(threadId).filter((p) => ROUND_TITLE.test(String(p.embeds[0]?.title ?? '')));
    },
    async press(post, action, n, user) {
      const id = await pressOn(fake, post, action, n, user);
      await settle(id);
      return id;
    },
    async close() {
      await adapter.stop();
      await fake.close();
    },
  };
  return w;
}

/** A `world()` for one test file: every world it makes is closed after its test. */
export function worldPerTest(): (o?: Parameters<typeof discordWorld>[0]) => Promise<DiscordWorld> {
  const worlds: DiscordWorld[] = [];
  afterEach(async () => {
    await Promise.all(worlds.splice(0).map((w) => w.close()));
  });
  return async (o = {}) => {
    const w = await discordWorld(o);
    worlds.push(w);
    return w;
  };
}

/** All components of a post, flattened out of their action rows. */
export function componentsOf(post: FakePost): Json[] {
  return post.components.flatMap((row) => (row.components as Json[] | undefined) ?? []);
}

/** Press a post's control (as `press`) without waiting for the adapter to handle it. */
export function pressOn(
  fake: FakeDiscord,
  post: FakePost,
  action: ActionName,
  n?: number,
  user?: FakeUser,
): Promise<string> {
  for (const c of componentsOf(post)) {
    const id = String(c.custom_id);
    if (decodeActionId(id)?.action !== action) continue;
    if (c.type === 3) {
      const option = ((c.options as Json[] | undefined) ?? []).find(
        (opt) => decodeActionId(String(opt.value))?.arg === String(n),
      );
      if (!option) throw new Error(`no option #${n} in the ${action} menu`);
      return fake.select({
        messageId: post.id,
        customId: id,
        values: [String(option.value)],
        ...(user ? { user } : {}),
      });
    }
    return fake.click({ messageId: post.id, customId: id, ...(user ? { user } : {}) });
  }
  throw new Error(`no ${action} control on post ${post.id}`);
}

/** Everything a person sees of a post, as text. */
export function visibleText(post: FakePost): string {
  const parts = [post.content];
  for (const e of post.embeds) {
    parts.push(String(e.title ?? ''), String(e.description ?? ''));
    for (const f of (e.fields as Json[] | undefined) ?? []) parts.push(String(f.name), String(f.value));
    parts.push(String((e.footer as Json | undefined)?.text ?? ''));
  }
  return parts.filter(Boolean).join('\n');
}

export function toHarnessPost(post: FakePost): HarnessPost {
  const text = visibleText(post);
  const round = ROUND_TITLE.exec(String(post.embeds[0]?.title ?? ''));
  const base = { text, images: post.attachments.length, ...(post.ephemeral ? { ephemeral: true } : {}) };
  if (round) return { kind: 'round', round: Number(round[1]), ...base };
  if (post.content.startsWith(FOUND_PREFIX)) return { kind: 'found', ...base };
  return { kind: 'notice', ...base };
}

/** The shared chat-adapter contract, driven through the fake Discord. */
export async function discordHarness(): Promise<ChatHarness> {
  const w = await discordWorld();
  return {
    frontEnd: w.adapter,
    start: (text) => w.find(text),
    async say(thread, text) {
      await w.say(thread, text);
    },
    async act(thread, action, n, round) {
      // Help and the commands about the person or the server (forget, status, export) have no
      // control on a round: they are `/genir <command>`, used in the thread.
      if (action === 'help' || isThreadless(action)) {
        await w.settle(await w.fake.runSlash({ channelId: thread, name: 'genir', subcommand: action }));
        return;
      }
      // The rest, Keep included, are the menus and buttons of a round post.
      const posts = w.roundPosts(thread);
      const post =
        round === undefined
          ? posts.at(-1)
          : posts.findLast((p) => ROUND_TITLE.exec(String(p.embeds[0]?.title ?? ''))?.[1] === String(round));
      if (!post) throw new Error(`no round ${round ?? '(latest)'} post in thread ${thread}`);
      await w.press(post, action, n);
    },
    async posts(thread) {
      return w.fake.botPostsIn(thread).map(toHarnessPost);
    },
    async startInForeignTenant(text) {
      const id = await w.fake.runSlash({
        channelId: w.fake.channels.general,
        name: 'find',
        options: { description: text },
        guildId: SnowflakeUtil.generate().toString(),
      });
      await w.settle(id);
    },
    publicPostCount: () => w.fake.allBotPosts().filter((p) => !p.ephemeral).length,
    close: () => w.fake.close(),
  };
}
