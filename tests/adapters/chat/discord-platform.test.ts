/**
 * The Discord adapter against a fake that behaves like Discord where it hurts: markdown in people's
 * text, the interaction clock, rate limits, message limits, permissions and thread states, gateway
 * reconnects, and payloads written from the documented fields.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SnowflakeUtil } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { DiscordThreadSink } from '../../../adapters/chat/discord/adapter.ts';
import { encodeThreadId } from '../../../adapters/chat/discord/thread-id.ts';
import { decodeActionId } from '../../../commands/index.ts';
import { componentsOf, pressOn, visibleText, worldPerTest } from '../../fakes/discord/harness.ts';
import { DISCORD_LIMITS } from '../../fakes/discord/limits.ts';
import { FakeDiscord, type FakePost } from '../../fakes/discord/server.ts';

type Json = Record<string, unknown>;

const world = worldPerTest();
const silent = { info() {}, warn() {}, error() {} };

/** A raw REST call to the fake, as a client that does not look at rate-limit headers would make. */
async function rest(fake: FakeDiscord, method: string, path: string, body?: unknown) {
  const res = await fetch(`${fake.apiUrl}/v10${path}`, {
    method,
    headers: { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : null) as Json };
}

/** Markdown that would render as a masked link, a spoiler, a heading or subtext if it were not escaped. */
const LIVE_MARKDOWN = /(?<!\\)\[[^\]\n]+\]\([^)\n]+\)|(?<!\\)\|\|[^|]+(?<!\\)\|\||^#{1,3} |^-# /m;

describe('discord as it really behaves', () => {
  it('escapes Discord markdown in people’s text: the /find reply, refined queries, drawings, notices', async () => {
    const w = await world();
    const { fake, world: ew } = w;
    const thread = await w.find('a fox [free nitro](https://evil.example) ||boo|| `x`');
    expect(fake.post(thread)?.content).toBe(
      '🔎 a fox \\[free nitro](https://evil.example) \\|\\|boo\\|\\| \\`x\\`',
    );
    // An LLM refiner's query is people's text too.
    ew.deps.refiner.refine = async () => ({ query: '## a fox\n-# tiny [claim](https://evil.example)' });
    await w.say(thread, 'make it a heading');
    const round = w.roundPosts(thread).at(-1);
    expect(round?.embeds[0]?.description).toBe('\\## a fox\n\\-# tiny \\[claim](https://evil.example)');
    await w.say(thread, '', {
      attachments: [
        { name: '[doc](https://evil.example).txt', data: Buffer.from('hi'), contentType: 'text/plain' },
      ],
    });
    expect(fake.botPostsIn(thread).at(-1)?.content).toContain('"\\[doc](https://evil.example).txt"');
    for (const p of fake.allBotPosts()) expect(visibleText(p)).not.toMatch(LIVE_MARKDOWN);
  });
});

describe('the fake rate-limits like Discord', () => {
  it('answers per-route buckets with X-RateLimit headers, a 429 with Retry-After and its JSON body, and a global limit', async () => {
    const fake = await FakeDiscord.start({
      rateLimits: { bucket: { limit: 2, windowMs: 60_000 }, global: { limit: 4, windowMs: 60_000 } },
    });
    try {
      const post = (channel: string) =>
        rest(fake, 'POST', `/channels/${channel}/messages`, { content: 'hi' });
      const first = await post(fake.channels.general);
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-limit')).toBe('2');
      expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
      expect(Number(first.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
      expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      const bucket = first.headers.get('x-ratelimit-bucket');
      expect(bucket).toMatch(/^[0-9a-f]+$/);
      expect((await post(fake.channels.general)).headers.get('x-ratelimit-remaining')).toBe('0');

      const limited = await post(fake.channels.general);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.headers.get('x-ratelimit-scope')).toBe('user');
      expect(limited.headers.get('x-ratelimit-bucket')).toBe(bucket);
      expect(limited.json).toMatchObject({ message: 'You are being rate limited.', global: false });
      expect(limited.json.retry_after).toBeGreaterThan(0);

      // Another channel is another bucket; the global limit counts every request of the bot.
      expect((await post(fake.channels.random)).status).toBe(200);
      expect((await post(fake.channels.random)).status).toBe(200);
      const global = await rest(fake, 'GET', `/channels/${fake.channels.news}`);
      expect(global.status).toBe(429);
      expect(global.headers.get('x-ratelimit-global')).toBe('true');
      expect(global.headers.get('x-ratelimit-scope')).toBe('global');
      expect(global.json).toMatchObject({ global: true });
      expect(fake.botPostsIn(fake.channels.general)).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });

  it('a burst of posts in one thread all arrive, in order, through full buckets and 429s', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    const channel = await w.adapter.client.channels.fetch(thread);
    if (!channel?.isThread()) throw new Error('not a thread');
    const sink = new DiscordThreadSink(channel, silent);
    // Two 429s of the "shared" kind (per-resource limits no client can see coming), then the
    // thread's bucket (5 per window) fills: discord.js waits by the headers and retries the 429s.
    fake.failNext('POST /channels/:id/messages', 429, 0.05, 2);
    const texts = Array.from({ length: 12 }, (_, n) => `burst ${n + 1}`);
    await Promise.all(texts.map((text) => sink.send({ kind: 'notice', level: 'info', text })));
    const posted = fake.botPostsIn(thread).filter((p) => p.content.startsWith('burst'));
    expect(posted.map((p) => p.content)).toEqual(texts);
    const statuses = fake.requests
      .filter((r) => r.path === `/channels/${thread}/messages`)
      .map((r) => r.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    expect(fake.rateLimitPeak).toBe(5);
  });
});

describe('the fake rejects what Discord rejects', () => {
  const button = (custom_id: string, label = 'Go') => ({ type: 2, style: 1, custom_id, label });
  const select = (custom_id: string, options: number) => ({
    type: 3,
    custom_id,
    options: Array.from({ length: options }, (_, n) => ({ label: `#${n}`, value: `v${n}` })),
  });
  const row = (...components: Json[]) => ({ type: 1, components });
  const cases: [string, Json, string][] = [
    ['content over 2000', { content: 'x'.repeat(2001) }, 'content'],
    ['embed title over 256', { embeds: [{ title: 't'.repeat(257) }] }, 'embeds.0.title'],
    ['embed description over 4096', { embeds: [{ description: 'd'.repeat(4097) }] }, 'embeds.0.description'],
    [
      'more than 25 fields',
      { embeds: [{ fields: Array(26).fill({ name: 'n', value: 'v' }) }] },
      'embeds.0.fields',
    ],
    [
      'embeds over 6000 in total',
      { embeds: [1, 2].map(() => ({ description: 'd'.repeat(3001) })) },
      'embeds',
    ],
    [
      'a button label over 80',
      { components: [row(button('a', 'l'.repeat(81)))] },
      'components.0.components.0.label',
    ],
    [
      'a custom_id over 100',
      { components: [row(button('i'.repeat(101)))] },
      'components.0.components.0.custom_id',
    ],
    [
      'a duplicate custom_id',
      { components: [row(button('a'), button('a'))] },
      'components.0.components.1.custom_id',
    ],
    [
      '6 buttons in a row',
      { components: [row(...'abcdef'.split('').map((id) => button(id)))] },
      'components.0.components',
    ],
    [
      'a select beside a button',
      { components: [row(select('s', 2), button('b'))] },
      'components.0.components',
    ],
    ['6 action rows', { components: 'abcdef'.split('').map((id) => row(button(id))) }, 'components'],
    ['a select with 26 options', { components: [row(select('s', 26))] }, 'components.0.components.0.options'],
    [
      '11 attachments',
      { attachments: Array.from({ length: 11 }, (_, id) => ({ id, filename: `${id}.png` })) },
      'attachments',
    ],
  ];
  it.each(cases)('%s: 400, code 50035, with the field error', async (_, body, path) => {
    const fake = await FakeDiscord.start({ rateLimits: false });
    try {
      const res = await rest(fake, 'POST', `/channels/${fake.channels.general}/messages`, body);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: 50035, message: 'Invalid Form Body' });
      let node = res.json.errors as Json;
      for (const key of path.split('.')) node = node[key] as Json;
      expect(node._errors).toEqual([expect.objectContaining({ code: expect.any(String) })]);
      expect(fake.botPostsIn(fake.channels.general)).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });

  it('an upload over the limit (10 MiB without boosts) is 413 Request entity too large', async () => {
    const w = await world();
    const channel = await w.adapter.client.channels.fetch(w.fake.channels.general);
    if (!channel?.isSendable()) throw new Error('not sendable');
    const file = (bytes: number) => ({ attachment: Buffer.alloc(bytes), name: 'big.png' });
    await expect(channel.send({ files: [file(DISCORD_LIMITS.uploadBytes + 1)] })).rejects.toMatchObject({
      status: 413,
      code: 40005,
    });
    await channel.send({ files: [file(1024)] });
    expect(w.fake.botPostsIn(w.fake.channels.general)).toHaveLength(1);
  });
});

describe('the interaction clock (3 s to answer, tokens that die after 15 minutes)', () => {
  const FIFTEEN_MINUTES = 15 * 60_000;

  it('the fake answers a late first response 10062 and a dead token 50027', async () => {
    const fake = await FakeDiscord.start({ rateLimits: false });
    try {
      const slash = async () => {
        const id = await fake.runSlash({ channelId: fake.channels.general, name: 'find' });
        return fake.interaction(id) as NonNullable<ReturnType<FakeDiscord['interaction']>>;
      };
      const callback = (i: { id: string; token: string }) =>
        rest(fake, 'POST', `/interactions/${i.id}/${i.token}/callback`, { type: 5 });
      const late = await slash();
      fake.ageInteractions(3_001);
      expect(await callback(late)).toMatchObject({ status: 404, json: { code: 10062 } });

      const i = await slash();
      expect((await callback(i)).status).toBe(204);
      const hook = `/webhooks/${fake.applicationId}/${i.token}`;
      expect((await rest(fake, 'PATCH', `${hook}/messages/@original`, { content: 'ok' })).status).toBe(200);
      fake.ageInteractions(FIFTEEN_MINUTES);
      const dead = { status: 401, json: { code: 50027, message: 'Invalid Webhook Token' } };
      expect(await rest(fake, 'PATCH', `${hook}/messages/@original`, { content: 'late' })).toMatchObject(
        dead,
      );
      expect(await rest(fake, 'POST', hook, { content: 'late' })).toMatchObject(dead);
    } finally {
      await fake.close();
    }
  });

  it('a round that outlives the /find token still reaches the thread; the status line stops', async () => {
    const w = await world();
    const { fake, world: ew } = w;
    let open!: () => void;
    ew.deps.generator.gate = new Promise<void>((r) => {
      open = r;
    });
    const id = await fake.runSlash({
      channelId: fake.channels.general,
      name: 'find',
      options: { description: 'a red circle' },
    });
    await vi.waitFor(() => expect(ew.deps.generator.queries).toHaveLength(1));
    fake.ageInteractions(FIFTEEN_MINUTES + 1);
    open();
    ew.deps.generator.gate = null;
    await w.settle(id);
    const thread = fake.threadsOf(fake.channels.general)[0]?.id as string;
    expect(w.roundPosts(thread)).toHaveLength(1);
    expect(fake.requests.filter((r) => r.status === 401).length).toBeLessThanOrEqual(1);
    for (const p of fake.allBotPosts()) expect(p.content).not.toMatch(/went wrong|Webhook/);
  });

  it('a stale button answered after its token died stays private: nothing public about it', async () => {
    const w = await world();
    const { fake, world: ew } = w;
    const thread = await w.find('a red circle');
    const [first] = w.roundPosts(thread);
    let open!: () => void;
    ew.deps.generator.gate = new Promise<void>((r) => {
      open = r;
    });
    const refine = await fake.sendMessage({ channelId: thread, content: 'it is blue' });
    await vi.waitFor(() => expect(ew.deps.generator.queries).toHaveLength(2));
    // Round 2 is being drawn; the press on round 1 waits behind it, and is stale once it runs.
    const stale = await pressOn(fake, first as FakePost, 'regen', undefined, fake.people.bob);
    await vi.waitFor(() => expect(fake.interaction(stale)?.callbacks).toEqual([6]));
    fake.ageInteractions(FIFTEEN_MINUTES + 1);
    open();
    ew.deps.generator.gate = null;
    await w.settle(refine, stale);
    expect(w.roundPosts(thread)).toHaveLength(2);
    const followUps = fake.requests.filter((r) => r.route === 'POST /webhooks/:id/:token');
    expect(followUps.map((r) => r.status)).toEqual([401]);
    const pub = fake.botPostsIn(thread).filter((p) => !p.ephemeral);
    for (const p of pub) expect(visibleText(p)).not.toMatch(/went wrong|Webhook|no longer current/);
  });
});

describe('channel permissions and thread states', () => {
  it('a locked thread: a button gets its round privately, with why; nothing is lost', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    const before = fake.botPostsIn(thread).length;
    fake.archiveThread(thread, { locked: true });
    await w.press(w.roundPosts(thread).at(-1) as FakePost, 'regen');
    const posts = fake.botPostsIn(thread);
    expect(posts.filter((p) => !p.ephemeral)).toHaveLength(before);
    const answer = posts.at(-1);
    expect(answer?.ephemeral).toBe(true);
    expect(answer?.content).toContain('This thread is locked');
    expect(answer?.embeds[0]?.title).toBe('Round 2');
    expect(answer?.attachments).toHaveLength(2);
    expect(fake.requests.filter((r) => r.status === 400).map((r) => r.route)).toEqual([
      'POST /channels/:id/messages',
    ]);
    const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread });
    expect((await w.world.engine.thread(key))?.rounds).toHaveLength(2);
  });

  it('/genir in a locked thread: the round comes privately, with why', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    fake.archiveThread(thread, { locked: true });
    await w.settle(await fake.runSlash({ channelId: thread, name: 'genir', subcommand: 'regen' }));
    const answer = fake.botPostsIn(thread).at(-1);
    expect(answer?.ephemeral).toBe(true);
    expect(answer?.content).toContain('This thread is locked');
    expect(answer?.embeds[0]?.title).toBe('Round 2');
  });

  it('/find in a locked thread is refused privately, with why', async () => {
    const w = await world();
    const { fake } = w;
    const thread = fake.createThread(fake.channels.general, 'closed topic');
    fake.archiveThread(thread, { locked: true });
    const id = await fake.runSlash({ channelId: thread, name: 'find', options: { description: 'a fox' } });
    await w.settle(id);
    const [answer, ...more] = fake.allBotPosts();
    expect(more).toHaveLength(0);
    expect(answer?.ephemeral).toBe(true);
    expect(answer?.content).toContain('This thread is locked');
  });

  it('an archived (not locked) thread is reopened by the next round', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    fake.archiveThread(thread);
    await w.press(w.roundPosts(thread).at(-1) as FakePost, 'regen');
    expect(w.roundPosts(thread)).toHaveLength(2);
    expect(fake.channel(thread)?.thread_metadata?.archived).toBe(false);
  });

  it('without Attach Files (or Send Messages in Threads) /find answers privately and names the permissions', async () => {
    const w = await world();
    const { fake } = w;
    fake.deny(fake.channels.general, 'ATTACH_FILES');
    const thread = await w.find('a red circle');
    expect(w.roundPosts(thread)).toHaveLength(0);
    // Private answers to /find appear where it was used.
    const answer = fake.botPostsIn(fake.channels.general).at(-1);
    expect(answer?.ephemeral).toBe(true);
    expect(answer?.content).toMatch(/Missing Permissions.*"Attach Files"/s);
    expect(answer?.embeds[0]?.title).toBe('Round 1');

    fake.allow(fake.channels.general, 'ATTACH_FILES');
    fake.deny(fake.channels.general, 'SEND_MESSAGES_IN_THREADS');
    const second = await w.find('a blue square');
    expect(w.roundPosts(second)).toHaveLength(0);
    expect(fake.botPostsIn(fake.channels.general).at(-1)?.content).toMatch(/Missing Permissions/);
    fake.allow(fake.channels.general, 'SEND_MESSAGES_IN_THREADS');
    await w.say(second, 'it is large');
    expect(w.roundPosts(second).map((p) => p.embeds[0]?.description)).toEqual(['a blue square; it is large']);
  });

  it('without Create Public Threads the /find reply says which permissions it needs', async () => {
    const w = await world();
    const { fake } = w;
    fake.deny(fake.channels.general, 'CREATE_PUBLIC_THREADS');
    const id = await fake.runSlash({
      channelId: fake.channels.general,
      name: 'find',
      options: { description: 'a fox' },
    });
    await w.settle(id);
    expect(fake.threadsOf(fake.channels.general)).toHaveLength(0);
    const reply = fake.post(fake.interaction(id)?.originalId as string);
    expect(reply?.content).toMatch(/Missing Permissions \(50013\).*"Create Public Threads"/s);
  });
});

describe('gateway reconnects', () => {
  /** discord.js waits ~5 s between two IDENTIFYs of one bot; the fake has no such rule. */
  const identifyAtOnce = { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) } };

  it('op 7 Reconnect: discord.js resumes the session; nothing is missed, nothing is fetched', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    fake.requestReconnect();
    await w.say(thread, 'it is blue');
    expect(w.roundPosts(thread)).toHaveLength(2);
    expect(fake.identifies).toHaveLength(1);
    expect(fake.requests.filter((r) => r.route === 'GET /channels/:id/messages')).toEqual([]);
  });

  it('op 9 Invalid Session: after identifying again it fetches what active threads missed, in order, once', async () => {
    const w = await world({ adapter: { clientOptions: identifyAtOnce } });
    const { fake } = w;
    const thread = await w.find('a red circle');
    const other = await w.find('a blue square');
    await w.say(thread, 'it is green');
    await fake.invalidateSession(async () => {
      await fake.sendMessage({ channelId: thread, content: 'and large' });
      await fake.sendMessage({ channelId: other, content: 'on yellow' });
      await fake.sendMessage({ channelId: thread, content: 'with a border' });
    });
    expect(fake.identifies).toHaveLength(2);
    // Said on the new session while the adapter may still be fetching: handed over after the missed ones.
    await w.say(thread, 'and shiny');
    const said = async (t: string) => {
      const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread: t });
      const rounds = (await w.world.engine.thread(key))?.rounds ?? [];
      return rounds.flatMap((r) => r.userText?.split('\n') ?? []);
    };
    await vi.waitFor(async () => {
      await w.adapter.idle();
      expect(await said(thread)).toEqual([
        'a red circle',
        'it is green',
        'and large',
        'with a border',
        'and shiny',
      ]);
      expect(await said(other)).toEqual(['a blue square', 'on yellow']);
    }, 10_000);
    expect(fake.requests.filter((r) => r.route === 'GET /channels/:id/messages').length).toBeGreaterThan(0);
  });
});

describe('payloads written from the documented fields, replayed through the real adapter', () => {
  const fixture = (name: string) =>
    JSON.parse(readFileSync(new URL(`../../fixtures/discord/${name}.json`, import.meta.url), 'utf8')) as {
      t: string;
      d: Json;
    };
  const snowflake = () => SnowflakeUtil.generate().toString();
  const base = (fake: FakeDiscord) => ({
    application_id: fake.applicationId,
    guild_id: fake.guildId,
    channel_id: fake.channels.general,
    user_id: fake.people.alice.id,
    interaction_id: snowflake(),
    token: randomBytes(24).toString('base64url'),
  });

  it('type 2 APPLICATION_COMMAND (/find with a string option) starts a search in a new thread', async () => {
    const w = await world();
    const { fake } = w;
    const d = await fake.replay(fixture('interaction-application-command'), base(fake));
    await w.settle(String(d.id));
    expect(fake.interaction(String(d.id))?.callbacks).toEqual([5]);
    const [thread] = fake.threadsOf(fake.channels.general);
    expect(w.roundPosts(thread?.id as string)[0]?.embeds[0]?.description).toBe(
      'a red circle at the top left',
    );
  });

  it('type 3 MESSAGE_COMPONENT: a button (component_type 2) and a string select (component_type 3)', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    const control = (post: FakePost, action: string) =>
      componentsOf(post).find((c) => decodeActionId(String(c.custom_id))?.action === action) as Json;
    const r1 = w.roundPosts(thread)[0] as FakePost;
    const press = { ...base(fake), thread_id: thread, message_id: r1.id };
    const button = await fake.replay(fixture('interaction-button'), {
      ...press,
      custom_id: String(control(r1, 'regen').custom_id),
    });
    await w.settle(String(button.id));
    expect(fake.interaction(String(button.id))?.callbacks).toEqual([6]);
    expect(w.roundPosts(thread)).toHaveLength(2);

    const r2 = w.roundPosts(thread)[1] as FakePost;
    const menu = control(r2, 'pick');
    const option = (menu.options as Json[])[1] as Json;
    const select = await fake.replay(fixture('interaction-string-select'), {
      ...press,
      interaction_id: snowflake(),
      token: randomBytes(24).toString('base64url'),
      message_id: r2.id,
      custom_id: String(menu.custom_id),
      value: String(option.value),
    });
    await w.settle(String(select.id));
    expect(fake.botPostsIn(thread).at(-1)?.content).toContain('Found it in round 2');
  });

  it('MESSAGE_CREATE with an image attachment in a search thread is the next round’s picture', async () => {
    const w = await world();
    const { fake } = w;
    const thread = await w.find('a red circle');
    const data = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#1e90ff' } })
      .png()
      .toBuffer();
    const file = fake.hostFile(thread, { name: 'photo.png', data, contentType: 'image/png' });
    const d = await fake.replay(fixture('message-create-attachment-in-thread'), {
      ...base(fake),
      thread_id: thread,
      message_id: snowflake(),
      attachment_id: file.id,
      attachment_url: file.url,
      attachment_size: file.size,
    });
    await w.settle(String(d.id));
    const key = encodeThreadId({ guild: fake.guildId, channel: fake.channels.general, thread });
    const rounds = (await w.world.engine.thread(key))?.rounds ?? [];
    expect(rounds.map((r) => [r.cause, r.userText])).toEqual([
      ['find', 'a red circle'],
      ['image', 'like this one'],
    ]);
  });
});
