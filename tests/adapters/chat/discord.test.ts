import { GatewayIntentBits } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { inviteUrl } from '../../../adapters/chat/discord/adapter.ts';
import { slashCommands } from '../../../adapters/chat/discord/commands.ts';
import {
  LIMITS,
  MAX_UPLOAD_BYTES,
  NO_MENTIONS,
  renderFound,
  renderNotice,
  renderRound,
  roundFileNames,
} from '../../../adapters/chat/discord/renderer.ts';
import { decodeThreadId, encodeThreadId } from '../../../adapters/chat/discord/thread-id.ts';
import { loadConfig } from '../../../bots/config.ts';
import { discordFrontEnd } from '../../../bots/discord.ts';
import { startFrontEnd } from '../../../bots/front-ends.ts';
import { COMMANDS, decodeActionId, encodeActionId } from '../../../commands/index.ts';
import type { RoundView } from '../../../core/types.ts';
import { discordRegister, registerDiscordCommands } from '../../../scripts/discord-register.ts';
import { chatAdapterContract } from '../../contracts/chat-adapter.ts';
import { componentsOf, discordHarness, visibleText, worldPerTest } from '../../fakes/discord/harness.ts';
import { FakeDiscord } from '../../fakes/discord/server.ts';
import { engineWorld } from '../../support/engine-world.ts';

type Json = Record<string, unknown>;

chatAdapterContract('discord', discordHarness, { staleControls: true, foreignTenants: true });

const world = worldPerTest();

const len = (s: unknown) => Array.from(String(s ?? '')).length;
const png = (r: number, g: number, b: number) =>
  sharp({ create: { width: 16, height: 16, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

describe('discord adapter', () => {
  it('/find: defers, starts a thread from its reply and posts round 1 with 2 attachments and the controls', async () => {
    const w = await world();
    const { fake } = w;
    const interactionId = await fake.runSlash({
      channelId: fake.channels.general,
      name: 'find',
      options: { description: 'a red circle at the top left' },
    });
    await w.settle(interactionId);

    // Acknowledged with a deferred reply (type 5), which became the thread's starter message.
    const interaction = fake.interaction(interactionId);
    expect(interaction?.callbacks).toEqual([5]);
    const [thread] = fake.threadsOf(fake.channels.general);
    expect(thread?.name).toBe('a red circle at the top left');
    expect(thread?.owner_id).toBe(fake.botUser.id);
    const starter = fake.post(thread?.id as string);
    expect(starter?.content).toBe('🔎 a red circle at the top left');
    expect(starter?.viaInteraction).toBe(true);

    const [post, ...more] = w.roundPosts(thread?.id as string);
    expect(more).toHaveLength(0);
    expect(post?.attachments).toHaveLength(2);
    const names = post?.attachments.map((a) => a.filename);
    expect(names).toEqual(['round-01-synthetic.png', 'round-01-matches.png']);
    expect(post?.attachments.every((a) => a.data.subarray(1, 4).toString() === 'PNG')).toBe(true);
    const [main, sheet] = post?.embeds ?? [];
    expect(main?.title).toBe('Round 1');
    expect(main?.description).toBe('a red circle at the top left');
    expect(main?.image).toMatchObject({ url: 'attachment://round-01-synthetic.png' });
    expect(sheet?.image).toMatchObject({ url: 'attachment://round-01-matches.png' });

    const state = await w.world.engine.thread(
      encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread: thread?.id as string }),
    );
    const roundId = state?.rounds[0]?.id;
    const components = componentsOf(post as NonNullable<typeof post>);
    const [pick, more2, ...buttons] = components;
    expect(pick?.type).toBe(3);
    expect(pick?.placeholder).toBe("That's it: #1…#10");
    expect(more2?.placeholder).toBe('More like… #1…#10');
    expect(((pick?.options ?? []) as Json[]).map((o) => o.value)).toEqual(
      Array.from({ length: 10 }, (_, i) => encodeActionId('pick', roundId as string, i + 1)),
    );
    expect(((more2?.options ?? []) as Json[]).map((o) => decodeActionId(String(o.value))?.action)).toEqual(
      Array(10).fill('more'),
    );
    // TRANSCRIPTS=opt-in: Keep is the fifth button of the one button row.
    expect(buttons.map((b) => b.label)).toEqual([
      'Not these',
      'Regenerate',
      'Undo',
      'New search',
      'Keep this search for research',
    ]);
    expect(buttons.map((b) => decodeActionId(String(b.custom_id))?.action)).toEqual([
      'not',
      'regen',
      'undo',
      'reset',
      'keep',
    ]);
    expect(post?.components).toHaveLength(3);
    // The research notice is the last line of round 1, above the buttons, naming the Discord command.
    expect(String((sheet?.footer as Json | undefined)?.text)).toMatch(
      /^Research: .*"Keep this search for research" or type \/genir keep\. \/genir forget deletes your data\.\nCorrect me in words/,
    );
    for (const c of components) {
      expect(len(c.custom_id)).toBeLessThanOrEqual(100);
      expect(decodeActionId(String(c.custom_id))?.roundId).toBe(roundId);
    }
    // While the round ran: the typing indicator in the thread and a progress line on the reply.
    expect(fake.typingCount(thread?.id as string)).toBeGreaterThan(0);
    expect(starter?.edits).toBeGreaterThan(1);
  });

  it('a later message in the thread is a refinement: round 2 with the merged query', async () => {
    const w = await world();
    const thread = await w.find('a red circle');
    await w.say(thread, 'it is blue');
    const rounds = w.roundPosts(thread);
    expect(rounds.map((p) => p.embeds[0]?.title)).toEqual(['Round 1', 'Round 2']);
    expect(rounds[1]?.embeds[0]?.description).toBe('a red circle; it is blue');
  });

  it('a mention in a channel starts a thread from that message; the mention is not part of the query', async () => {
    const w = await world();
    const { fake } = w;
    const msgId = await w.say(fake.channels.general, `${fake.botMention} a blue square`);
    const [thread] = fake.threadsOf(fake.channels.general);
    expect(thread?.id).toBe(msgId);
    expect(thread?.name).toBe('a blue square');
    expect(w.roundPosts(msgId)[0]?.embeds[0]?.description).toBe('a blue square');
    // Other people's mentions become their names in the query.
    const second = await w.say(
      fake.channels.general,
      `${fake.botMention} the one <@${fake.people.bob.id}> posted`,
    );
    expect(w.roundPosts(second)[0]?.embeds[0]?.description).toBe('the one @bob posted');
    // A bare mention gets help in the channel, not a thread.
    await w.say(fake.channels.general, fake.botMention);
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(2);
    expect(fake.botPostsIn(fake.channels.general).at(-1)?.content).toContain('/pick');
  });

  it('applies the rate limits before creating a thread: a search over them is refused, nothing is created', async () => {
    const w = await world({ engine: { roundsPerUserPerMinute: 1 } });
    const { fake } = w;
    await w.find('a red circle');
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(1);
    const id = await fake.runSlash({
      channelId: fake.channels.general,
      name: 'find',
      options: { description: 'a blue square' },
    });
    await w.settle(id);
    expect(fake.interaction(id)).toMatchObject({ callbacks: [4], ephemeral: true });
    await w.say(fake.channels.general, `${fake.botMention} a green star`);
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(1);
    expect(fake.botPostsIn(fake.channels.general).at(-1)?.content).toMatch(/^Slow down a little/);
  });

  it('in an allow-listed channel any message starts a search; elsewhere plain messages are ignored', async () => {
    const w = await world({ adapter: (f) => ({ allowedChannelIds: [f.channels.random] }) });
    const { fake } = w;
    const msgId = await w.say(fake.channels.random, 'a yellow triangle');
    expect(fake.threadsOf(fake.channels.random).map((t) => t.id)).toEqual([msgId]);
    expect(w.roundPosts(msgId)).toHaveLength(1);
    await w.say(fake.channels.general, 'just chatting');
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(0);
    expect(fake.botPostsIn(fake.channels.general)).toHaveLength(0);
  });

  it('routes every menu and button to the right engine action', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread });
    const latest = () => w.roundPosts(thread).at(-1) as NonNullable<ReturnType<typeof w.roundPosts>[number]>;
    const state = () => w.world.engine.thread(key);

    const r1 = (await state())?.rounds[0];
    const moreId = await w.press(latest(), 'more', 3);
    let s = await state();
    expect(s?.rounds.at(-1)?.cause).toBe('more-like');
    expect(s?.rounds[0]?.feedback[0]).toMatchObject({
      kind: 'more-like',
      assetIds: [r1?.matches[2]?.assetId],
    });
    expect(fake.interaction(moreId)?.callbacks).toEqual([6]);

    await w.press(latest(), 'not');
    expect((await state())?.rounds.at(-1)?.cause).toBe('not-these');
    await w.press(latest(), 'regen');
    expect((await state())?.rounds.at(-1)?.cause).toBe('regenerate');
    await w.press(latest(), 'undo');
    expect((await state())?.rounds.map((r) => r.cause)).toEqual(['find', 'more-like', 'not-these']);

    const r3 = (await state())?.rounds[2];
    await w.press(latest(), 'pick', 2);
    s = await state();
    expect(s?.status).toBe('found');
    expect(s?.found?.assetId).toBe(r3?.matches[1]?.assetId);
    const found = fake.botPostsIn(thread).at(-1);
    expect(found?.content).toContain('Found it in round 3');
    expect(found?.attachments.map((a) => a.filename)).toEqual([`${r3?.matches[1]?.assetId}.png`]);

    await w.press(latest(), 'reset');
    expect((await state())?.rounds).toHaveLength(0);
    expect(fake.botPostsIn(thread).at(-1)?.content).toContain('Started over');
  });

  it('a control of an older round answers, only to the presser, that it is stale; nothing changes', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    await w.say(thread, 'it is blue');
    const before = fake.botPostsIn(thread).length;
    const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread });
    const version = (await w.world.engine.thread(key))?.version;

    await w.press(
      w.roundPosts(thread)[0] as NonNullable<ReturnType<typeof w.roundPosts>[number]>,
      'regen',
      undefined,
      fake.people.bob,
    );
    const posts = fake.botPostsIn(thread);
    expect(posts).toHaveLength(before + 1);
    expect(posts.at(-1)?.ephemeral).toBe(true);
    expect(posts.at(-1)?.content).toContain('round 1, which is no longer current');
    expect((await w.world.engine.thread(key))?.version).toBe(version);
  });

  it('ignores bots: its own posts echoed by the gateway and other bots', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    // Every bot post above came back as MESSAGE_CREATE; none of them became a round.
    expect(w.world.deps.refiner.calls).toBe(1);
    await w.say(thread, 'make it green', { author: fake.people.otherBot });
    await w.say(thread, 'make it green', { author: fake.botUser });
    await w.say(fake.channels.general, `${fake.botMention} a cat`, { author: fake.people.otherBot });
    expect(w.world.deps.refiner.calls).toBe(1);
    expect(w.roundPosts(thread)).toHaveLength(1);
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(1);
  });

  it('a non-image upload gets a clear message and no round', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    await w.say(thread, '', {
      attachments: [{ name: 'notes.txt', data: Buffer.from('hello'), contentType: 'text/plain' }],
    });
    const last = fake.botPostsIn(thread).at(-1);
    expect(last?.content).toContain('I skipped "notes.txt": it is not an image');
    expect(w.roundPosts(thread)).toHaveLength(1);
  });

  it('an image uploaded in the thread is the next round’s query image', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    await w.say(thread, '', { attachments: [{ name: 'photo.png', data: await png(10, 200, 30) }] });
    const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread });
    expect((await w.world.engine.thread(key))?.rounds.map((r) => r.cause)).toEqual(['find', 'image']);
    expect(w.roundPosts(thread)).toHaveLength(2);
  });

  it('a 429 on the round post is retried by discord.js and the round still posts', async () => {
    const w = await world();
    const { fake } = w;
    fake.failNext('POST /channels/:id/messages', 429, 0.05);
    const thread = await w.find('a red circle');
    const posts = fake.requests.filter((r) => r.route === 'POST /channels/:id/messages');
    expect(posts.map((r) => r.status)).toEqual([429, 200]);
    expect(w.roundPosts(thread)).toHaveLength(1);
    expect(w.roundPosts(thread)[0]?.attachments).toHaveLength(2);
  });

  it('two rapid messages in one thread become two rounds, in order', async () => {
    const w = await world();
    const { fake, world: ew } = w;
    const thread = await w.find('a red circle');
    let open!: () => void;
    ew.deps.generator.gate = new Promise<void>((r) => {
      open = r;
    });
    const first = await fake.sendMessage({ channelId: thread, content: 'it is blue' });
    await vi.waitFor(() => expect(ew.deps.generator.queries).toHaveLength(2));
    const second = await fake.sendMessage({ channelId: thread, content: 'and large' });
    open();
    ew.deps.generator.gate = null;
    await w.settle(first, second);
    expect(w.roundPosts(thread).map((p) => [p.embeds[0]?.title, p.embeds[0]?.description])).toEqual([
      ['Round 1', 'a red circle'],
      ['Round 2', 'a red circle; it is blue'],
      ['Round 3', 'a red circle; it is blue; and large'],
    ]);
  });

  it('keeps gateway order when the first of two messages takes longer to prepare (an upload)', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    const a = await fake.sendMessage({
      channelId: thread,
      content: 'like this photo',
      attachments: [{ name: 'photo.png', data: await png(200, 10, 10) }],
    });
    const b = await fake.sendMessage({ channelId: thread, content: 'but smaller' });
    await w.settle(a, b);
    const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread });
    const rounds = (await w.world.engine.thread(key))?.rounds ?? [];
    expect(rounds[1]?.cause).toBe('image');
    expect(rounds[1]?.userText).toMatch(/^like this photo/);
    const said = rounds
      .slice(1)
      .map((r) => r.userText)
      .join('\n');
    expect(said.indexOf('like this photo')).toBeLessThan(said.indexOf('but smaller'));
  });

  it('"@everyone" and role mentions in a description are posted as text: nothing is pinged', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('@everyone look: a red circle <@&123456789012345678> @here');
    await w.say(thread, '@everyone make it blue');
    await w.say(fake.channels.general, `${fake.botMention} @everyone a green star`);
    const posts = fake.allBotPosts();
    expect(posts.length).toBeGreaterThanOrEqual(4);
    for (const p of posts) {
      expect(p.allowedMentions).toMatchObject({ parse: [] });
      expect(p.pinged).toEqual({ everyone: false, users: [], roles: [] });
    }
    expect(fake.post(thread)?.content).toContain('@everyone look');
    expect(
      visibleText(w.roundPosts(thread)[0] as NonNullable<ReturnType<typeof w.roundPosts>[number]>),
    ).toContain('@everyone');
  });

  it('truncates thread names and embed text to Discord’s limits instead of failing', async () => {
    const w = await world({ engine: { maxMessageChars: 20_000 } });
    const { fake } = w;
    const long = `a red circle ${'and a very long story about it '.repeat(300)}`;
    const thread = await w.find(long);
    const t = fake.channel(thread);
    expect(len(t?.name)).toBe(LIMITS.threadName);
    expect(t?.name.endsWith('…')).toBe(true);
    const [post] = w.roundPosts(thread);
    expect(post).toBeDefined();
    expect(len(post?.embeds[0]?.description)).toBeLessThanOrEqual(LIMITS.embedDescription);
    expect(len(fake.post(thread)?.content)).toBeLessThanOrEqual(LIMITS.content);
    // No request was rejected by the fake's limit checks.
    expect(fake.requests.filter((r) => r.status === 400)).toEqual([]);
  });

  it('an engine or provider error becomes a short message in the thread; the bot keeps working', async () => {
    const w = await world();
    const { fake, world: ew } = w;
    ew.deps.generator.fail = new Error('upstream timed out');
    const thread = await w.find('a red circle');
    expect(fake.botPostsIn(thread).at(-1)?.content).toMatch(/^⚠️ .*upstream timed out/s);
    ew.deps.generator.fail = null;
    ew.deps.refiner.fail = new Error('refiner exploded');
    await w.say(thread, 'a red circle');
    expect(fake.botPostsIn(thread).at(-1)?.content).toMatch(/^⚠️ .*refiner exploded/s);
    ew.deps.refiner.fail = null;
    await w.say(thread, 'a red circle');
    expect(w.roundPosts(thread)).toHaveLength(1);
  });

  it('explains a refused thread (missing permission) in the channel, then works once allowed', async () => {
    const w = await world();
    const { fake } = w;
    fake.failNext('POST /channels/:id/messages/:id/threads', 403);
    await w.say(fake.channels.general, `${fake.botMention} a red circle`);
    const reply = fake.botPostsIn(fake.channels.general).at(-1);
    expect(reply?.content).toContain('Create Public Threads');
    expect(reply?.pinged.users).toEqual([]);
    await w.say(fake.channels.general, `${fake.botMention} a red circle`);
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(1);
  });

  it('a thread someone else started is ignored until the bot is mentioned there; then it searches in it', async () => {
    const w = await world();
    const { fake } = w;
    const thread = fake.createThread(fake.channels.general, 'design chat');
    await w.say(thread, 'a red circle');
    expect(fake.botPostsIn(thread)).toHaveLength(0);
    await w.say(thread, `${fake.botMention} a red circle`);
    expect(w.roundPosts(thread)).toHaveLength(1);
    await w.say(thread, 'it is blue');
    expect(w.roundPosts(thread)).toHaveLength(2);
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(1);
  });

  it('/find inside an existing thread searches there; /genir commands act on its latest round', async () => {
    const w = await world();
    const { fake } = w;
    const thread = fake.createThread(fake.channels.general, 'assets');
    await w.find('a red circle', { channelId: thread });
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(1);
    expect(w.roundPosts(thread)).toHaveLength(1);

    const undo = await fake.runSlash({
      channelId: thread,
      name: 'genir',
      subcommand: 'more',
      options: { n: 2 },
    });
    await w.settle(undo);
    expect(w.roundPosts(thread)).toHaveLength(2);
    // The deferred ephemeral reply is removed once the round is posted.
    expect(fake.postsIn(thread).filter((p) => p.ephemeral)).toHaveLength(0);

    const bad = await fake.runSlash({
      channelId: thread,
      name: 'genir',
      subcommand: 'pick',
      options: { n: 99 },
    });
    await w.settle(bad);
    const answer = fake.postsIn(thread).at(-1);
    expect(answer?.ephemeral).toBe(true);
    expect(answer?.content).toContain('There is no match #99');

    const help = await fake.runSlash({ channelId: thread, name: 'genir', subcommand: 'help' });
    await w.settle(help);
    expect(fake.postsIn(thread).at(-1)?.ephemeral).toBe(true);
    expect(fake.postsIn(thread).at(-1)?.content).toContain('`/pick <n>`');
  });

  it('research: notice on round 1, Keep until pressed, /genir forget in the thread or anywhere', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    await w.say(thread, 'it is blue');
    const [r1, r2] = w.roundPosts(thread);
    const keepOf = (p: typeof r1) =>
      componentsOf(p as NonNullable<typeof p>).filter(
        (c) => decodeActionId(String(c.custom_id))?.action === 'keep',
      );
    expect(visibleText(r1 as NonNullable<typeof r1>)).toContain('Research:');
    expect(visibleText(r2 as NonNullable<typeof r2>)).not.toContain('Research:');
    expect(keepOf(r2)).toHaveLength(1);

    await w.press(r2 as NonNullable<typeof r2>, 'keep');
    const thanks = fake.botPostsIn(thread).at(-1);
    expect(thanks?.content).toContain('kept for research');
    expect(thanks?.ephemeral).toBe(false);
    await w.say(thread, 'on a yellow background');
    expect(keepOf(w.roundPosts(thread).at(-1))).toHaveLength(0);

    // Outside any thread: answered only to the person, in the channel.
    const other = await w.find('a green star');
    const forget = await fake.runSlash({
      channelId: fake.channels.general,
      name: 'genir',
      subcommand: 'forget',
    });
    await w.settle(forget);
    const answer = fake.postsIn(fake.channels.general).at(-1);
    expect(answer?.ephemeral).toBe(true);
    expect(answer?.content).toContain('Deleted 2 searches');
    const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread: other });
    expect(await w.world.engine.thread(key)).toBeNull();
  });

  it('survives a dropped gateway connection: discord.js resumes and missed events are handled', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    fake.dropConnection();
    const id = await fake.sendMessage({ channelId: thread, content: 'it is blue' });
    await w.settle(id);
    expect(w.roundPosts(thread)).toHaveLength(2);
    expect(fake.identifies).toHaveLength(1); // resumed, not re-identified
  });

  it('identifies with the Message Content intent (needed to read refinements)', async () => {
    const w = await world();
    const intents = Number(w.fake.identifies[0]?.intents);
    expect(intents & GatewayIntentBits.MessageContent).toBe(GatewayIntentBits.MessageContent);
    expect(intents & GatewayIntentBits.GuildMessages).toBe(GatewayIntentBits.GuildMessages);
  });
});

describe('discord renderer', () => {
  const view = (o: Partial<RoundView> = {}): RoundView => {
    const tiles = Array.from({ length: 25 }, (_, i) => ({
      n: i + 1,
      assetId: `asset-${i}`,
      title: `${'a very long asset title '.repeat(10)}${i}`,
      score: 0.9 - i / 100,
    }));
    return {
      threadKey: 'discord:1:2:3',
      roundId: 'r1',
      roundNumber: 12,
      query: 'q '.repeat(5000),
      interpretation: 'i '.repeat(2000),
      syntheticPng: Buffer.from('png'),
      contactSheetPng: Buffer.from('png'),
      tiles,
      notes: ['n '.repeat(2000)],
      actions: {
        pick: tiles.map((t) => encodeActionId('pick', 'r1', t.n)),
        moreLike: tiles.map((t) => encodeActionId('more', 'r1', t.n)),
        notThese: encodeActionId('not', 'r1'),
        regenerate: encodeActionId('regen', 'r1'),
        undo: encodeActionId('undo', 'r1'),
        newSearch: encodeActionId('reset', 'r1'),
        keep: encodeActionId('keep', 'r1'),
      },
      consentNotice: 'Research: r '.repeat(500),
      ...o,
    };
  };

  it('keeps a huge round within every embed and component limit', () => {
    const payload = renderRound(view());
    const embeds = (payload.embeds ?? []).map((e) => ('toJSON' in e ? e.toJSON() : e)) as Json[];
    let total = 0;
    for (const e of embeds) {
      expect(len(e.title)).toBeLessThanOrEqual(LIMITS.embedTitle);
      expect(len(e.description)).toBeLessThanOrEqual(LIMITS.embedDescription);
      for (const f of (e.fields as Json[] | undefined) ?? [])
        expect(len(f.value)).toBeLessThanOrEqual(LIMITS.fieldValue);
      total += len(e.title) + len(e.description) + len((e.footer as Json | undefined)?.text);
      total += ((e.fields as Json[] | undefined) ?? []).reduce((n, f) => n + len(f.name) + len(f.value), 0);
    }
    expect(total).toBeLessThanOrEqual(LIMITS.embedsTotal);
    // The research notice is never what the budget cuts away entirely.
    expect(String((embeds[1]?.footer as Json | undefined)?.text)).toContain('Research: r');
    const rows = (payload.components ?? []).map((r) => ('toJSON' in r ? r.toJSON() : r)) as unknown as Json[];
    expect(rows.length).toBeLessThanOrEqual(5);
    for (const c of rows.flatMap((r) => r.components as Json[])) {
      expect(len(c.custom_id)).toBeLessThanOrEqual(LIMITS.customId);
      const options = (c.options as Json[] | undefined) ?? [];
      expect(options.length).toBeLessThanOrEqual(LIMITS.selectOptions);
      for (const o of options) expect(len(o.label)).toBeLessThanOrEqual(LIMITS.selectOptionLabel);
    }
    expect(payload.allowedMentions).toEqual(NO_MENTIONS);
  });

  it('Discord (the fake) accepts a huge round with top-K 25 and its found post as they are rendered', async () => {
    const w = await world();
    const channel = await w.adapter.client.channels.fetch(w.fake.channels.general);
    if (!channel?.isSendable()) throw new Error('not sendable');
    await channel.send(renderRound(view()));
    const asset = { id: 'a1', source: '/g/fox.png', title: `${'a very long title '.repeat(40)}` };
    const file = Buffer.alloc(MAX_UPLOAD_BYTES + 1);
    await channel.send(
      renderFound({ threadKey: 'discord:1:2:3', roundNumber: 2, fileName: 'f.png', asset, file }),
    );
    const [round, found] = w.fake.botPostsIn(w.fake.channels.general);
    expect(componentsOf(round as NonNullable<typeof round>)[0]?.options).toHaveLength(25);
    expect(found?.content).toContain('too large to upload');
    expect(w.fake.requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('a round without a new drawing has one attachment and says so', () => {
    const payload = renderRound(view({ syntheticPng: null }));
    expect(payload.files).toHaveLength(1);
    expect(JSON.stringify(payload.embeds)).toContain('Same drawing as the previous round');
    expect(JSON.stringify(payload.embeds)).toContain(`attachment://${roundFileNames(view()).sheet}`);
  });

  it('a found post attaches the original, or links it when it is a URL, or says it is missing', () => {
    const base = { threadKey: 'discord:1:2:3', roundNumber: 2, fileName: 'fox.png' };
    const asset = { id: 'a1', source: '/g/fox.png', title: 'Orange @everyone fox' };
    expect(renderFound({ ...base, asset, file: Buffer.from('x') }).files).toHaveLength(1);
    const linked = renderFound({
      ...base,
      asset: { ...asset, source: 'https://cdn.example/fox.png' },
      file: null,
    });
    expect(linked.content).toContain('<https://cdn.example/fox.png>');
    expect(renderFound({ ...base, asset, file: null }).content).toContain('could not read');
    expect(renderFound({ ...base, asset, file: null }).allowedMentions).toEqual(NO_MENTIONS);
  });

  it('cuts long notices to the content limit and formats the help table', () => {
    expect(len(renderNotice('x'.repeat(5000)).content)).toBe(LIMITS.content);
    expect(renderNotice('  /pick <n>     Match n').content).toBe('`/pick <n>` Match n');
    expect(renderNotice('boom', 'error').content).toBe('⚠️ boom');
  });
});

describe('discord thread ids and slash commands', () => {
  it('encodes and decodes thread keys in one place', () => {
    const id = { guild: '1', channel: '2', thread: '3' };
    expect(encodeThreadId(id)).toBe('discord:1:2:3');
    expect(decodeThreadId(encodeThreadId(id))).toEqual(id);
    expect(() => decodeThreadId('slack:T:C:1.2')).toThrow(/not a discord thread/);
  });

  it('builds the invite URL with the bot and commands scopes and the documented permissions', () => {
    const url = new URL(inviteUrl('123456789012345678'));
    expect(url.searchParams.get('client_id')).toBe('123456789012345678');
    expect(url.searchParams.get('scope')).toBe('bot applications.commands');
    // docs/discord.md gives this number; update both together.
    expect(url.searchParams.get('permissions')).toBe('309237763072');
  });

  it('builds /find and /genir <command> from the shared command set', () => {
    const [find, group] = slashCommands();
    expect(find?.name).toBe('find');
    expect(find?.options?.[0]).toMatchObject({ name: 'description', required: true, type: 3 });
    const subs = (group?.options ?? []) as { name: string; description: string }[];
    expect(subs.map((s) => s.name)).toEqual(COMMANDS.filter((c) => c.action !== 'find').map((c) => c.name));
    for (const s of subs) expect(len(s.description)).toBeLessThanOrEqual(100);
  });

  it('registers the commands in a guild or globally with a PUT', async () => {
    const fake = await FakeDiscord.start();
    try {
      const base = { token: fake.token, applicationId: fake.applicationId, apiUrl: fake.apiUrl };
      expect(await registerDiscordCommands({ ...base, guildId: fake.guildId })).toEqual({
        scope: 'guild',
        guildId: fake.guildId,
        commands: ['find', 'genir'],
      });
      const config = loadConfig(
        {
          DISCORD_TOKEN: fake.token,
          DISCORD_APPLICATION_ID: fake.applicationId,
          DISCORD_API_URL: fake.apiUrl,
        },
        { dotenv: false },
      );
      expect(await discordRegister(config)).toContain('globally');
      expect(fake.registered.map((r) => r.scope)).toEqual(['guild', 'global']);
      expect(fake.registered[1]?.commands.map((c) => c.name)).toEqual(['find', 'genir']);
      await expect(discordRegister(config, { guild: 'abc' })).rejects.toThrow(/--guild/);
      await expect(discordRegister(loadConfig({}, { dotenv: false }))).rejects.toThrow(/DISCORD_TOKEN/);
    } finally {
      await fake.close();
    }
  });
});

const silent = { info() {}, warn() {}, error() {} };

describe('the Discord front end from config', () => {
  it('starts from the config (DISCORD_API_URL pointing at the fake), answers /find and stops', async () => {
    const fake = await FakeDiscord.start();
    const w = await engineWorld();
    const config = loadConfig(
      {
        DISCORD_TOKEN: fake.token,
        DISCORD_APPLICATION_ID: fake.applicationId,
        DISCORD_API_URL: fake.apiUrl,
        DISCORD_ALLOWED_CHANNELS: `${fake.channels.random}, ${fake.channels.news}`,
      },
      { dotenv: false },
    );
    expect(config.DISCORD_ALLOWED_CHANNELS).toEqual([fake.channels.random, fake.channels.news]);
    const logs: string[] = [];
    const logger = { info: (_: object, m?: string) => logs.push(`${m}`), warn() {}, error() {} };
    const bot = await startFrontEnd(discordFrontEnd, { ...w.deps, engine: w.engine, config, logger });
    try {
      await fake.sendMessage({ channelId: fake.channels.random, content: 'a red circle' });
      await vi.waitFor(() =>
        expect(fake.botPostsIn(fake.threadsOf(fake.channels.random)[0]?.id ?? '-')).toHaveLength(1),
      );
      expect(logs).toContain('discord bot ready');
      expect(JSON.stringify(logs)).not.toContain(fake.token);
    } finally {
      await bot.stop();
      await fake.close();
    }
  });

  it('rejects a bad token with a clear error that does not contain the token', async () => {
    const fake = await FakeDiscord.start();
    const w = await engineWorld();
    const token = `x${'y'.repeat(60)}`;
    const config = loadConfig(
      { DISCORD_TOKEN: token, DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_URL: fake.apiUrl },
      { dotenv: false },
    );
    try {
      const err = await startFrontEnd(discordFrontEnd, {
        ...w.deps,
        engine: w.engine,
        config,
        logger: silent,
      }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/Discord bot could not start: .*token/i);
      expect((err as Error).message).not.toContain(token);
    } finally {
      await fake.close();
    }
  });

  it('says how to fix it when the Message Content intent is not enabled for the app', async () => {
    const fake = await FakeDiscord.start({ privilegedIntents: false });
    const w = await engineWorld();
    const config = loadConfig(
      { DISCORD_TOKEN: fake.token, DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_URL: fake.apiUrl },
      { dotenv: false },
    );
    try {
      await expect(
        startFrontEnd(discordFrontEnd, { ...w.deps, engine: w.engine, config, logger: silent }),
      ).rejects.toThrow(/Message Content Intent/);
    } finally {
      await fake.close();
    }
  });

  it('names the variable when a Discord setting is invalid', () => {
    expect(() => loadConfig({ DISCORD_APPLICATION_ID: 'my-app' }, { dotenv: false })).toThrow(
      /DISCORD_APPLICATION_ID/,
    );
    expect(() => loadConfig({ DISCORD_ALLOWED_CHANNELS: '123, general' }, { dotenv: false })).toThrow(
      /DISCORD_ALLOWED_CHANNELS/,
    );
  });
});
