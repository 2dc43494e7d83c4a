/**
 * The web playground's server, driven over HTTP and server-sent events exactly as the page drives
 * it (fetch + one event stream per tab), on the fast engine world (fake providers, real ranking).
 */
import { request } from 'node:http';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { WebChat, type WebChatOptions } from '../../../adapters/chat/web/adapter.ts';
import type { WebPost, WebRound, WebThread, WebThreadSummary } from '../../../adapters/chat/web/renderer.ts';
import type { ActionName } from '../../../commands/index.ts';
import type { Logger } from '../../../core/ports.ts';
import { type ChatHarness, chatAdapterContract, type HarnessPost } from '../../contracts/chat-adapter.ts';
import { engineWorld } from '../../support/engine-world.ts';

const silent: Logger = { info() {}, warn() {}, error() {} };

type World = Awaited<ReturnType<typeof engineWorld>>;

interface Server {
  world: World;
  chat: WebChat;
  base: string;
  port: number;
  close(): Promise<void>;
}

/** One secret for every server here, as a restarted server keeps its secret (bots/web.ts). */
const SECRET = 'test-secret-of-at-least-32-characters';

async function startServer(options: WebChatOptions = {}, world?: World): Promise<Server> {
  const w = world ?? (await engineWorld());
  const chat = new WebChat(
    { engine: w.engine, gallery: w.deps.gallery, images: w.deps.images, logger: silent },
    { port: 0, host: '127.0.0.1', auth: { mode: 'none', secret: SECRET }, ...options },
  );
  await chat.start();
  return { world: w, chat, base: `http://127.0.0.1:${chat.port}`, port: chat.port, close: () => chat.stop() };
}

/** A browser's cookie jar: requests carry the session cookie the server set, as a browser's would. */
class Browser {
  private readonly cookies = new Map<string, Map<string, string>>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    // Cookies belong to a host, whatever its port (RFC 6265 §8.5).
    const origin = new URL(url).hostname;
    const jar = this.cookies.get(origin) ?? new Map<string, string>();
    this.cookies.set(origin, jar);
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const gone = attrs.some((a) => /^\s*max-age=0$/i.test(a));
      if (gone) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }

  cookie(host: string, name: string): string | undefined {
    return this.cookies.get(host)?.get(name);
  }

  setCookie(host: string, name: string, value: string): void {
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    jar.set(name, value);
    this.cookies.set(host, jar);
  }
}

/** The browser of every request unless a test names another one. */
const browser = new Browser();

interface SseEvent {
  event: string;
  data: unknown;
}

/** One browser tab: an open event stream on a thread, recording every event in order. */
class Tab {
  readonly events: SseEvent[] = [];
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  private ended = false;

  private constructor(
    readonly threadId: string,
    readonly clientId: string,
    readonly browser: Browser,
  ) {}

  static async open(
    base: string,
    threadId: string,
    clientId = `tab-${Math.random().toString(36).slice(2, 12)}`,
    by: Browser = browser,
  ) {
    const tab = new Tab(threadId, clientId, by);
    const res = await by.fetch(`${base}/api/threads/${threadId}/events?client=${clientId}`, {
      signal: tab.abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    void tab.read(res.body as ReadableStream<Uint8Array>);
    await tab.until((e) => e.event === 'snapshot', 'the snapshot');
    return tab;
  }

  private async read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) this.events.push({ event, data: JSON.parse(data) });
          cut = buffer.indexOf('\n\n');
        }
        this.wake();
      }
    } catch {
      // aborted
    }
    this.ended = true;
    this.wake();
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the first event matching `pred` (already received or still to come). */
  async until(pred: (e: SseEvent) => boolean, what: string): Promise<SseEvent> {
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (this.ended) throw new Error(`the event stream ended before ${what}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits for the server to report these events handled. */
  async done(eventIds: Iterable<string>) {
    for (const id of eventIds) {
      await this.until(
        (e) => e.event === 'done' && (e.data as { eventId: string }).eventId === id,
        `done ${id}`,
      );
    }
  }

  posts(): WebPost[] {
    return this.events.filter((e) => e.event === 'post').map((e) => (e.data as { post: WebPost }).post);
  }

  snapshot(): WebThread {
    const snapshot = this.events.find((e) => e.event === 'snapshot');
    if (!snapshot) throw new Error('no snapshot yet');
    return (snapshot.data as { thread: WebThread }).thread;
  }

  close() {
    this.abort.abort();
  }
}

let seq = 0;
const eventId = () => `ev-${process.pid}-${seq++}`;

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}, by = browser) {
  return by.fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function createThread(base: string, by = browser): Promise<WebThreadSummary> {
  const res = await postJson(`${base}/api/threads`, {}, {}, by);
  expect(res.status).toBe(201);
  return ((await res.json()) as { thread: WebThreadSummary }).thread;
}

async function say(base: string, tab: Tab, text: string): Promise<string> {
  const id = eventId();
  const res = await postJson(
    `${base}/api/threads/${tab.threadId}/messages`,
    { text, eventId: id, clientId: tab.clientId },
    {},
    tab.browser,
  );
  expect(res.status).toBe(202);
  return id;
}

async function press(base: string, tab: Tab, actionId: string): Promise<string> {
  const id = eventId();
  const res = await postJson(
    `${base}/api/threads/${tab.threadId}/actions`,
    { actionId, eventId: id, clientId: tab.clientId },
    {},
    tab.browser,
  );
  expect(res.status).toBe(202);
  return id;
}

/** The stored key of a web thread (it carries the owning browser). */
async function keyOf(s: Server, threadId: string): Promise<string> {
  const states = await s.world.engine.threads('web:', 1000);
  const key = states.map((t) => t.key).find((k) => k.endsWith(`:${threadId}`));
  if (!key) throw new Error(`no thread ${threadId}`);
  return key;
}

const rounds = (posts: WebPost[]) => posts.filter((p): p is WebRound => p.kind === 'round');

interface Info {
  actions: { forget: string };
  transcripts: string;
}
async function info(base: string): Promise<Info> {
  return (await (await browser.fetch(`${base}/api/info`)).json()) as Info;
}

/** A raw GET whose path is sent exactly as written (fetch would normalize "..", this does not). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// The shared chat adapter contract, through the HTTP API and event streams.

async function webHarness(): Promise<ChatHarness> {
  const server = await startServer();
  const tabs = new Map<string, Tab>();
  const pending = new Map<string, string[]>();
  const settle = async (thread: string) => {
    const tab = tabs.get(thread) as Tab;
    await tab.done(pending.get(thread) ?? []);
    pending.set(thread, []);
  };
  const track = (thread: string, id: string) => pending.set(thread, [...(pending.get(thread) ?? []), id]);
  const imagesOf = async (r: WebRound) => {
    const urls = [r.synthetic && !r.synthetic.reused ? r.synthetic.url : null, r.sheetUrl].filter(
      (u): u is string => u !== null,
    );
    let n = 0;
    for (const u of urls) {
      const res = await browser.fetch(`${server.base}${u}`);
      if (res.ok && res.headers.get('content-type')?.startsWith('image/')) n++;
      await res.arrayBuffer();
    }
    return n;
  };
  return {
    frontEnd: server.chat,
    async start(text) {
      const { id } = await createThread(server.base);
      tabs.set(id, await Tab.open(server.base, id));
      track(id, await say(server.base, tabs.get(id) as Tab, text));
      return id;
    },
    async say(thread, text) {
      // A person reads the bot's answer before writing again.
      await settle(thread);
      track(thread, await say(server.base, tabs.get(thread) as Tab, text));
    },
    async act(thread, action: ActionName, n, round) {
      await settle(thread);
      const tab = tabs.get(thread) as Tab;
      const rs = rounds(tab.posts());
      const r = (round ? rs.findLast((p) => p.round === round) : rs.at(-1)) as WebRound;
      const tile = r.tiles[(n ?? 1) - 1];
      const ids: Partial<Record<ActionName, string | undefined>> = {
        pick: tile?.pick,
        more: tile?.moreLike,
        not: r.actions.notThese,
        regen: r.actions.regenerate,
        undo: r.actions.undo,
        reset: r.actions.newSearch,
        keep: r.actions.keep,
        // "Forget me" in the sidebar: the id comes from /api/info, as the page gets it.
        forget: action === 'forget' ? (await info(server.base)).actions.forget : undefined,
      };
      const actionId = ids[action];
      if (!actionId) throw new Error(`the page has no control for ${action}`);
      track(thread, await press(server.base, tab, actionId));
    },
    async posts(thread) {
      await settle(thread);
      const out: HarnessPost[] = [];
      for (const p of (tabs.get(thread) as Tab).posts()) {
        if (p.kind === 'round') {
          const text = [
            `Round ${p.round}`,
            p.query,
            p.interpretation ?? '',
            ...p.tiles.map((t) => t.title),
            ...p.notes,
            p.consentNotice ?? '',
          ];
          out.push({ kind: 'round', round: p.round, text: text.join('\n'), images: await imagesOf(p) });
        } else if (p.kind === 'found') {
          out.push({ kind: 'found', text: `Found it in round ${p.round}: ${p.asset.title}`, images: 1 });
        } else if (p.kind === 'notice') {
          out.push({ kind: 'notice', text: p.text, images: 0, ephemeral: p.ephemeral });
        }
      }
      return out;
    },
    async close() {
      for (const tab of tabs.values()) tab.close();
    },
  };
}

chatAdapterContract('web', webHarness, { staleControls: true });

// ---------------------------------------------------------------------------------------------

describe('web playground server', () => {
  const open: { close(): unknown }[] = [];
  const keep = <T extends { close(): unknown }>(x: T) => {
    open.push(x);
    return x;
  };
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });

  it('serves the page, its script and style, with a strict content security policy', async () => {
    const s = keep(await startServer());
    const page = await browser.fetch(`${s.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('/static/app.js');
    expect(html).toContain('id="threads"');
    const js = await browser.fetch(`${s.base}/static/app.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(await js.text()).toContain('EventSource');
    const css = await browser.fetch(`${s.base}/static/app.css`);
    expect(css.headers.get('content-type')).toContain('text/css');
    const thread = await createThread(s.base);
    expect((await browser.fetch(`${s.base}/t/${thread.id}`)).status).toBe(200);
  });

  it('creates threads, lists them newest first, and keeps them in the store for the next server', async () => {
    const s = await startServer();
    const a = await createThread(s.base);
    const b = await createThread(s.base);
    expect(a.status).toBe('new');
    const tab = keep(await Tab.open(s.base, a.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    const list = (await (await browser.fetch(`${s.base}/api/threads`)).json()) as {
      threads: WebThreadSummary[];
    };
    expect(list.threads.map((t) => t.id)).toEqual([a.id, b.id]);
    expect(list.threads[0]).toMatchObject({ title: 'a red circle', status: 'active', rounds: 1 });
    tab.close();
    await s.close();

    const again = keep(await startServer({}, s.world));
    const thread = (
      (await (await browser.fetch(`${again.base}/api/threads/${a.id}`)).json()) as { thread: WebThread }
    ).thread;
    expect(thread.title).toBe('a red circle');
    expect(rounds(thread.posts).map((r) => r.round)).toEqual([1]);
  });

  it('answers unknown or malformed thread, round, asset and action ids with 4xx, changing nothing', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    const [r1] = rounds(tab.posts());
    const statusOf = async (path: string, init?: RequestInit) =>
      (await browser.fetch(`${s.base}${path}`, init)).status;

    expect(await statusOf('/api/threads/abc')).toBe(404);
    expect(await statusOf('/api/threads/AAAAAAAAAAAA')).toBe(404);
    expect(await statusOf('/api/threads/AAAAAAAAAAAA/events')).toBe(404);
    expect(await statusOf(`/api/threads/${'x'.repeat(200)}`)).toBe(404);
    expect((await postJson(`${s.base}/api/threads/AAAAAAAAAAAA/messages`, { text: 'hi' })).status).toBe(404);

    expect(await statusOf(`/img/rounds/${t.id}/nosuchround/synthetic.png`)).toBe(404);
    expect(await statusOf(`/img/rounds/${t.id}/nosuchround/sheet.png`)).toBe(404);
    expect(await statusOf(`/img/rounds/AAAAAAAAAAAA/${r1?.roundId}/synthetic.png`)).toBe(404);
    expect(await statusOf('/img/assets/no-such-asset')).toBe(404);
    expect(await statusOf('/img/assets/no-such-asset/thumb')).toBe(404);
    expect(await statusOf(`/img/assets/${'a'.repeat(600)}/original`)).toBe(404);
    const missing = await browser.fetch(`${s.base}/img/assets/nope`);
    expect(await missing.json()).toEqual({ error: 'No such picture.' });

    const action = (body: unknown) => postJson(`${s.base}/api/threads/${t.id}/actions`, body);
    expect((await action({ actionId: 'genir:explode:x:1' })).status).toBe(400);
    expect((await action({ actionId: `genir:pick:${'r'.repeat(120)}:1` })).status).toBe(400);
    expect((await action({})).status).toBe(400);
    const notJson = await browser.fetch(`${s.base}/api/threads/${t.id}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"text": ',
    });
    expect(notJson.status).toBe(400);
    const plain = await browser.fetch(`${s.base}/api/threads/${t.id}/messages`, {
      method: 'POST',
      body: 'a red circle',
    });
    expect(plain.status).toBe(415);
    const wrongType = await postJson(`${s.base}/api/threads/${t.id}/messages`, { text: 42 });
    expect(wrongType.status).toBe(400);

    const state = await s.world.engine.thread(await keyOf(s, t.id));
    expect(state?.rounds).toHaveLength(1);
    expect(state?.status).toBe('active');
  });

  it('never serves a file by path: traversal attempts get 404 and no file content', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    const [r1] = rounds(tab.posts());
    const attempts = [
      '/../../../../etc/passwd',
      '/static/../../package.json',
      '/static/..%2f..%2fpackage.json',
      '/static/%2e%2e/%2e%2e/package.json',
      '/img/assets/..%2F..%2F..%2Fetc%2Fpasswd',
      '/img/assets/..%2F..%2Fpackage.json/original',
      '/img/assets/%2e%2e%2f%2e%2e%2fpackage.json/thumb',
      '/img/assets/%00/thumb',
      '/img/assets/%2Fetc%2Fpasswd/original',
      `/img/rounds/${t.id}/..%2F..%2F..%2Fpackage.json/synthetic.png`,
      `/img/rounds/..%2F..%2F/${r1?.roundId}/synthetic.png`,
      `/img/rounds/${t.id}/${r1?.roundId}/..%2F..%2F..%2Fpackage.json`,
      '/t/..%2F..%2Fpackage.json',
    ];
    for (const path of attempts) {
      const res = await rawGet(s.port, path);
      expect([400, 404], path).toContain(res.status);
      expect(res.body, path).not.toContain('"name": "genir-chat"');
      expect(res.body, path).not.toContain('root:x:0:0');
    }
  });

  it('answers an empty message with help, and changes nothing', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, ''), await say(s.base, tab, '   \n  ')]);
    const notices = tab.posts().filter((p) => p.kind === 'notice');
    expect(notices).toHaveLength(2);
    expect(notices[0]?.kind === 'notice' && notices[0].text).toContain('/pick <n>');
    expect(tab.posts().some((p) => p.kind === 'user' || p.kind === 'round')).toBe(false);
    expect((await s.world.engine.thread(await keyOf(s, t.id)))?.rounds).toHaveLength(0);
  });

  it('refuses a huge message with 413 and a reason; a long one is shortened with a note', async () => {
    const s = keep(await startServer({ maxTextChars: 10_000 }));
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));

    const huge = await postJson(`${s.base}/api/threads/${t.id}/messages`, { text: 'red '.repeat(2_600) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toContain('10,000');
    const tooBig = await postJson(`${s.base}/api/threads/${t.id}/messages`, { text: 'x'.repeat(600 * 1024) });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: string }).error).toContain('too large');
    expect((await s.world.engine.thread(await keyOf(s, t.id)))?.rounds).toHaveLength(0);
    expect(tab.posts()).toEqual([]);

    const long = `a red circle ${'and more '.repeat(300)}`;
    await tab.done([await say(s.base, tab, long)]);
    const [r1] = rounds(tab.posts());
    expect(r1?.notes.join(' ')).toContain('I used the first 2,000');
  });

  it('sends the round to every tab on the thread; a stale-button answer only to the tab that pressed it', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const a = keep(await Tab.open(s.base, t.id));
    const b = keep(await Tab.open(s.base, t.id));
    await a.done([await say(s.base, a, 'a red circle')]);
    await b.done([]);
    await b.until(
      (e) => e.event === 'post' && (e.data as { post: WebPost }).post.kind === 'round',
      'round 1 in tab b',
    );

    for (const tab of [a, b]) {
      const [user, round] = tab.posts();
      expect(user).toMatchObject({ kind: 'user', text: 'a red circle' });
      expect(round).toMatchObject({ kind: 'round', round: 1, query: 'a red circle' });
      expect(tab.events.some((e) => e.event === 'progress')).toBe(true);
      expect(
        tab.events.filter((e) => e.event === 'busy').map((e) => (e.data as { busy: boolean }).busy),
      ).toEqual([true, false]);
    }
    expect((rounds(a.posts())[0] as WebRound).roundId).toBe((rounds(b.posts())[0] as WebRound).roundId);

    // Tab b corrects; tab a sees round 2 as well.
    const id2 = await say(s.base, b, 'it is blue');
    await a.done([id2]);
    expect(rounds(a.posts()).map((r) => r.round)).toEqual([1, 2]);

    // Tab a presses a button of round 1, which is no longer current.
    const old = rounds(a.posts())[0] as WebRound;
    const id3 = await press(s.base, a, old.tiles[0]?.pick as string);
    await a.done([id3]);
    await b.done([id3]);
    const staleA = a.posts().filter((p) => p.kind === 'notice');
    expect(staleA).toHaveLength(1);
    expect(staleA[0]).toMatchObject({ ephemeral: true });
    expect(staleA[0]?.kind === 'notice' && staleA[0].text).toContain('no longer current');
    expect(b.posts().filter((p) => p.kind === 'notice')).toEqual([]);
  });

  it('a reloaded page gets the whole thread back: messages, rounds, pick and found', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    await tab.done([await say(s.base, tab, 'it is blue')]);
    const r2 = rounds(tab.posts())[1] as WebRound;
    await tab.done([await press(s.base, tab, r2.tiles[2]?.moreLike as string)]);
    const r3 = rounds(tab.posts())[2] as WebRound;
    await tab.done([await press(s.base, tab, r3.tiles[1]?.pick as string)]);

    const reloaded = keep(await Tab.open(s.base, t.id));
    const thread = reloaded.snapshot();
    expect(thread.status).toBe('found');
    expect(thread.posts.map((p) => p.kind)).toEqual([
      'user',
      'round',
      'user',
      'round',
      'user',
      'round',
      'user',
      'found',
    ]);
    expect(thread.posts.filter((p) => p.kind === 'user').map((p) => p.kind === 'user' && p.text)).toEqual([
      'a red circle',
      'it is blue',
      'More like #3',
      "That's it: #2",
    ]);
    const stored = rounds(thread.posts);
    expect(stored.map((r) => r.roundId)).toEqual(rounds(tab.posts()).map((r) => r.roundId));
    expect(stored[1]?.feedback.moreLike).toEqual([3]);
    expect(stored[2]?.feedback.picked).toBe(2);
    // Round 3 reused round 2's drawing; the page shows it as such.
    expect(stored[2]?.synthetic).toMatchObject({ round: 2, reused: true });
    const found = thread.posts.at(-1);
    expect(found).toMatchObject({ kind: 'found', round: 3 });
    expect(found?.kind === 'found' && found.asset.id).toBe(r3.tiles[1]?.assetId);

    const api = (await (await browser.fetch(`${s.base}/api/threads/${t.id}`)).json()) as {
      thread: WebThread;
    };
    expect(api.thread.posts).toEqual(thread.posts);
  });

  it('research: notice on round 1 and Keep until pressed, live and after a reload', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    await tab.done([await say(s.base, tab, 'it is blue')]);
    const [r1, r2] = rounds(tab.posts()) as [WebRound, WebRound];
    expect(r1.consentNotice).toMatch(/^Research: /);
    expect(r2.consentNotice).toBeNull();
    expect(r2.actions.keep).toBeDefined();
    const stored = async () =>
      ((await (await browser.fetch(`${s.base}/api/threads/${t.id}`)).json()) as { thread: WebThread }).thread;
    const before = await stored();
    expect(rounds(before.posts).map((r) => [r.consentNotice !== null, r.actions.keep !== undefined])).toEqual(
      [
        [true, true],
        [false, true],
      ],
    );
    expect(before.kept).toBe(false);

    await tab.done([await press(s.base, tab, r2.actions.keep as string)]);
    const thanks = tab.posts().at(-1);
    expect(thanks).toMatchObject({ kind: 'notice', ephemeral: false });
    expect((thanks as { text: string }).text).toContain('kept for research');
    const summary = tab.events.filter((e) => e.event === 'thread').at(-1)?.data as WebThreadSummary;
    expect(summary.kept).toBe(true);
    await tab.done([await say(s.base, tab, 'on yellow')]);
    expect(rounds(tab.posts()).at(-1)?.actions.keep).toBeUndefined();
    const after = await stored();
    expect(after.kept).toBe(true);
    expect(rounds(after.posts).map((r) => r.actions.keep)).toEqual([undefined, undefined, undefined]);
    expect(rounds(after.posts)[0]?.consentNotice).toMatch(/^Research: /);
  });

  it('"Forget me": deletes the person\'s threads only, tells only their tab, and the list follows', async () => {
    const s = keep(await startServer());
    const { actions } = await info(s.base);
    const [me, someone] = [new Browser(), new Browser()];
    const sayIn = async (tab: Tab, text: string) => tab.done([await say(s.base, tab, text)]);
    const [a, b, other] = [
      await createThread(s.base, me),
      await createThread(s.base, me),
      await createThread(s.base, someone),
    ];
    const tabA = keep(await Tab.open(s.base, a.id, undefined, me));
    const tabB = keep(await Tab.open(s.base, b.id, undefined, me));
    const tabOther = keep(await Tab.open(s.base, other.id, undefined, someone));
    const watcher = keep(await Tab.open(s.base, a.id, undefined, me));
    await sayIn(tabA, 'a red circle');
    await sayIn(tabB, 'a blue star');
    await sayIn(tabOther, 'a green square');

    // A user id in the body is no identity: the cookie says who forgets.
    const otherUser = (await s.world.engine.thread(await keyOf(s, other.id)))?.ownerId;
    const id = eventId();
    const res = await postJson(
      `${s.base}/api/threads/${a.id}/actions`,
      { actionId: actions.forget, eventId: id, clientId: tabA.clientId, userId: otherUser },
      {},
      me,
    );
    expect(res.status).toBe(202);
    await tabA.done([id]);
    const answer = tabA.posts().at(-1);
    expect(answer).toMatchObject({ kind: 'notice', ephemeral: true });
    expect((answer as { text: string }).text).toContain('Deleted 2 searches');
    await watcher.done([id]);
    expect(watcher.posts().some((p) => p.kind === 'notice')).toBe(false);

    // The page asks for the list with its open thread (?also=): that it is missing says it was deleted.
    const list = async (by: Browser, query = '') =>
      (
        (await (await by.fetch(`${s.base}/api/threads${query}`)).json()) as { threads: WebThreadSummary[] }
      ).threads.map((t) => t.id);
    expect(await list(me, `?also=${a.id}`)).toEqual([]);
    expect(await list(someone)).toEqual([other.id]);
    expect((await me.fetch(`${s.base}/api/threads/${a.id}`)).status).toBe(404);
  });

  it('lists the open thread too (?also=) when it is older than the newest threads listed', async () => {
    const s = keep(await startServer({ maxThreads: 1 }));
    const old = await createThread(s.base);
    const newer = await createThread(s.base);
    const ids = async (query: string) =>
      (
        (await (await browser.fetch(`${s.base}/api/threads${query}`)).json()) as {
          threads: WebThreadSummary[];
        }
      ).threads.map((t) => t.id);
    expect(await ids('')).toEqual([newer.id]);
    expect(await ids(`?also=${old.id}`)).toEqual([newer.id, old.id]);
    expect(await ids(`?also=${newer.id}`)).toEqual([newer.id]);
    expect(await ids('?also=AAAAAAAAAAAA')).toEqual([newer.id]);
    expect(await ids('?also=..%2F..')).toEqual([newer.id]);
  });

  it('serves round pictures by round id and gallery pictures by asset id', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    const [r1] = rounds(tab.posts());
    const get = async (url: string) => {
      const res = await browser.fetch(`${s.base}${url}`);
      return { res, bytes: Buffer.from(await res.arrayBuffer()) };
    };
    const synthetic = await get(r1?.synthetic?.url as string);
    expect(synthetic.res.headers.get('content-type')).toBe('image/png');
    expect((await sharp(synthetic.bytes).metadata()).format).toBe('png');
    const sheet = await get(r1?.sheetUrl as string);
    expect((await sharp(sheet.bytes).metadata()).width).toBeGreaterThan(100);
    const tile = r1?.tiles[0];
    const thumb = await get(tile?.thumbUrl as string);
    expect(thumb.res.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(thumb.bytes).metadata()).format).toBe('webp');
    const full = await get(tile?.url as string);
    expect(full.res.headers.get('content-type')).toBe('image/png');
    const original = await get(`/img/assets/${tile?.assetId}/original`);
    expect(original.res.headers.get('content-disposition')).toContain('attachment');
    expect(original.res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('searches with an uploaded picture and skips a file that is not one', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c33' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.set('text', 'like this one');
    form.set('eventId', 'upload-1');
    form.set('clientId', tab.clientId);
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'red.png');
    form.append('image', new Blob(['hello'], { type: 'text/plain' }), 'notes.txt');
    const res = await browser.fetch(`${s.base}/api/threads/${t.id}/messages`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    await tab.done(['upload-1']);
    const [user, round] = tab.posts();
    expect(user).toMatchObject({ kind: 'user', text: 'like this one', image: 'red.png' });
    expect(round).toMatchObject({
      kind: 'round',
      cause: 'image',
      synthetic: { kind: 'upload', reused: false },
    });
    expect((round as WebRound).notes.join(' ')).toContain('I skipped "notes.txt"');
  });

  it('refuses cross-origin writes, and foreign Host names when it is local-only', async () => {
    const s = keep(await startServer({ localOnly: true }));
    const t = await createThread(s.base);
    const cross = await postJson(
      `${s.base}/api/threads/${t.id}/messages`,
      { text: 'a red circle' },
      { Origin: 'http://evil.example' },
    );
    expect(cross.status).toBe(403);
    const same = await postJson(`${s.base}/api/threads/${t.id}/messages`, { text: '' }, { Origin: s.base });
    expect(same.status).toBe(202);
    await s.chat.idle();
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: s.port, path: '/api/threads', headers: { Host: 'evil.example' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(403);
    expect((await s.world.engine.thread(await keyOf(s, t.id)))?.rounds).toHaveLength(0);
  });

  it('forgets a tab that went away', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const a = await Tab.open(s.base, t.id);
    const b = keep(await Tab.open(s.base, t.id));
    expect(s.chat.hub.size).toBe(2);
    a.close();
    await expect.poll(() => s.chat.hub.size).toBe(1);
    await b.done([await say(s.base, b, 'a red circle')]);
    expect(rounds(b.posts())).toHaveLength(1);
  });

  it('closes every event stream on stop', async () => {
    const s = await startServer();
    const t = await createThread(s.base);
    const tab = await Tab.open(s.base, t.id);
    expect(s.chat.hub.size).toBe(1);
    await s.close();
    expect(s.chat.hub.size).toBe(0);
    await expect(tab.until(() => false, 'the end')).rejects.toThrow('ended');
  });
});

describe('web identity: who a browser is, and what it may see', () => {
  const open: { close(): unknown }[] = [];
  const keep = <T extends { close(): unknown }>(x: T) => {
    open.push(x);
    return x;
  };
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });

  it('a session cookie (signed, HttpOnly, SameSite) names the browser; another browser cannot see or reach its threads', async () => {
    const s = keep(await startServer());
    const [mine, theirs] = [new Browser(), new Browser()];
    const page = await mine.fetch(`${s.base}/`);
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith('genir_session='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);

    const t = await createThread(s.base, mine);
    const tab = keep(await Tab.open(s.base, t.id, undefined, mine));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    const [r1] = rounds(tab.posts());
    const status = async (path: string, init?: RequestInit) =>
      (await theirs.fetch(`${s.base}${path}`, init)).status;

    // Exactly as for a thread that never existed: 404, not 403.
    expect(await status(`/t/${t.id}`)).toBe(404);
    expect(await status(`/api/threads/${t.id}`)).toBe(404);
    expect(await status(`/api/threads/${t.id}/events`)).toBe(404);
    expect(await status(`/img/rounds/${t.id}/${r1?.roundId}/synthetic.png`)).toBe(404);
    expect(await status(`/img/rounds/${t.id}/${r1?.roundId}/sheet.png`)).toBe(404);
    const write = (path: string, body: unknown) => postJson(`${s.base}${path}`, body, {}, theirs);
    expect((await write(`/api/threads/${t.id}/messages`, { text: 'now it is blue' })).status).toBe(404);
    expect((await write(`/api/threads/${t.id}/actions`, { actionId: r1?.actions.undo })).status).toBe(404);
    const list = (await (await theirs.fetch(`${s.base}/api/threads?also=${t.id}`)).json()) as {
      threads: WebThreadSummary[];
    };
    expect(list.threads).toEqual([]);

    // Their new thread does not show in my tab's list either.
    await createThread(s.base, theirs);
    await s.chat.idle();
    const listed = tab.events.filter((e) => e.event === 'thread').map((e) => (e.data as WebThreadSummary).id);
    expect(new Set(listed)).toEqual(new Set([t.id]));
    expect(await status(`/api/threads/${t.id}`)).toBe(404);
    expect((await s.world.engine.thread(await keyOf(s, t.id)))?.rounds).toHaveLength(1);
  });

  it('refuses a cookie signed with another secret, clears it, and changes nothing', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const forger = keep(
      await startServer(
        { auth: { mode: 'none', secret: 'another-secret-of-at-least-32-characters' } },
        s.world,
      ),
    );
    const forged = new Browser();
    await forged.fetch(`${forger.base}/`);
    const res = await forged.fetch(`${s.base}/api/threads/${t.id}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/not issued by this server/);
    expect(res.headers.getSetCookie().join()).toMatch(/genir_session=;.*Max-Age=0/i);
    expect(forged.cookie('127.0.0.1', 'genir_session')).toBeUndefined();
    expect((await postJson(`${s.base}/api/threads`, {}, {}, forged)).status).toBe(201);
    expect((await s.world.engine.thread(await keyOf(s, t.id)))?.rounds).toHaveLength(0);
  });

  it('WEB_AUTH=token: nothing without the token; the admin token makes an admin', async () => {
    const s = keep(
      await startServer({
        auth: { mode: 'token', secret: SECRET, token: 'open-sesame', adminToken: 'root-token' },
      }),
    );
    const b = new Browser();
    const info = (await (await b.fetch(`${s.base}/api/info`)).json()) as { auth: string; signedIn: boolean };
    expect(info).toMatchObject({ auth: 'token', signedIn: false });
    const refused = await b.fetch(`${s.base}/api/threads`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({
      auth: 'token',
      error: expect.stringMatching(/access token/),
    });
    expect((await postJson(`${s.base}/api/threads`, {}, {}, b)).status).toBe(401);
    expect((await postJson(`${s.base}/api/session`, { token: 'open-sesamE' }, {}, b)).status).toBe(401);
    expect((await postJson(`${s.base}/api/session`, { token: 'open-sesame' }, {}, b)).status).toBe(200);
    const t = await createThread(s.base, b);
    expect((await s.world.engine.thread(await keyOf(s, t.id)))?.ownerId).toMatch(/^[A-Za-z0-9_-]{16}$/);

    const admin = new Browser();
    expect((await postJson(`${s.base}/api/session`, { token: 'root-token' }, {}, admin)).status).toBe(200);
    const at = await createThread(s.base, admin);
    expect((await s.world.engine.thread(await keyOf(s, at.id)))?.ownerId).toBe('admin');
    expect((await b.fetch(`${s.base}/api/threads/${at.id}`)).status).toBe(404);
  });

  it('WEB_AUTH=header: the trusted proxy header names the person; without it, 401', async () => {
    const s = keep(
      await startServer({ auth: { mode: 'header', secret: SECRET, header: 'X-Forwarded-User' } }),
    );
    const as = (user: string | null): Record<string, string> => (user ? { 'X-Forwarded-User': user } : {});
    const create = (user: string | null) =>
      browser.fetch(`${s.base}/api/threads`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...as(user) },
        body: '{}',
      });
    const missing = await create(null);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toContain('X-Forwarded-User');
    const res = await create('alice@example.com');
    expect(res.status).toBe(201);
    const { thread } = (await res.json()) as { thread: WebThreadSummary };
    expect((await s.world.engine.thread(await keyOf(s, thread.id)))?.ownerId).toBe('alice@example.com');
    const get = (user: string) => browser.fetch(`${s.base}/api/threads/${thread.id}`, { headers: as(user) });
    expect((await get('alice@example.com')).status).toBe(200);
    expect((await get('bob@example.com')).status).toBe(404);
  });

  it("deletes a search of its own (rounds, pictures, records); another browser's answers 404", async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    const [r1] = rounds(tab.posts());
    const listed = (await (await browser.fetch(`${s.base}/api/threads`)).json()) as {
      threads: WebThreadSummary[];
    };
    expect(listed.threads[0]?.thumbUrl).toBe(`/img/rounds/${t.id}/${r1?.roundId}/synthetic.png`);
    const key = await keyOf(s, t.id);
    const other = new Browser();
    expect((await other.fetch(`${s.base}/api/threads/${t.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await browser.fetch(`${s.base}/api/threads/${t.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await s.world.engine.thread(key)).toBeNull();
    expect((await browser.fetch(`${s.base}/img/rounds/${t.id}/${r1?.roundId}/synthetic.png`)).status).toBe(
      404,
    );
    expect((await browser.fetch(`${s.base}/api/threads/${t.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it("renames a search of its own (an empty name: its first words again); another browser's answers 404", async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    const tab = keep(await Tab.open(s.base, t.id));
    await tab.done([await say(s.base, tab, 'a red circle')]);
    const rename = (title: unknown, who = browser) =>
      who.fetch(`${s.base}/api/threads/${t.id}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ title }),
      });
    const named = await rename('  The   fox banner ');
    expect(named.status).toBe(200);
    expect(((await named.json()) as { thread: WebThreadSummary }).thread.title).toBe('The fox banner');
    const listed = (await (await browser.fetch(`${s.base}/api/threads`)).json()) as {
      threads: WebThreadSummary[];
    };
    expect(listed.threads.find((x) => x.id === t.id)?.title).toBe('The fox banner');
    expect((await s.world.engine.thread(await keyOf(s, t.id)))?.rounds).toHaveLength(1);
    expect((await rename('x'.repeat(61))).status).toBe(400);
    expect((await rename(42)).status).toBe(400);
    expect((await rename('Mine now', new Browser())).status).toBe(404);
    const cleared = (await (await rename('')).json()) as { thread: WebThreadSummary };
    expect(cleared.thread.title).toBe('a red circle');
  });

  it('HTTP hygiene: 415 for a body of no or the wrong type, 405 with Allow for a wrong method, never 500', async () => {
    const s = keep(await startServer());
    const t = await createThread(s.base);
    for (const path of [`/api/threads/${t.id}/messages`, `/api/threads/${t.id}/actions`, '/api/threads']) {
      const res = await browser.fetch(`${s.base}${path}`, {
        method: 'POST',
        body: new Uint8Array([1, 2, 3]),
      });
      expect(res.headers.get('content-type') ?? '').toContain('application/json');
      expect(path === '/api/threads' ? [201] : [415]).toContain(res.status);
    }
    const bodies: [RequestInit, number][] = [
      [{}, 415],
      [{ headers: { 'Content-Type': 'multipart/form-data' }, body: 'x' }, 400],
      [{ headers: { 'Content-Type': 'application/json' } }, 400],
      [{ headers: { 'Content-Type': 'text/plain' }, body: '{"text":"a red circle"}' }, 415],
    ];
    for (const [init, expected] of bodies) {
      const res = await browser.fetch(`${s.base}/api/threads/${t.id}/messages`, { method: 'POST', ...init });
      expect([init, res.status]).toEqual([init, expected]);
      expect(((await res.json()) as { error: string }).error).toBeTruthy();
    }
    const cases: [string, string, string][] = [
      ['PUT', `/api/threads/${t.id}`, 'GET, HEAD, PATCH, DELETE'],
      ['PUT', `/api/threads/${t.id}/messages`, 'POST'],
      ['GET', `/api/threads/${t.id}/actions`, 'POST'],
      ['PATCH', '/api/threads', 'GET, HEAD, POST'],
      ['POST', '/', 'GET, HEAD'],
      ['POST', '/static/app.js', 'GET, HEAD'],
      ['DELETE', '/img/assets/x/thumb', 'GET, HEAD'],
      ['GET', '/api/session', 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await browser.fetch(`${s.base}${path}`, { method });
      expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, 405, allow]);
    }
    expect((await browser.fetch(`${s.base}/api/nothing-here`, { method: 'DELETE' })).status).toBe(404);
  });
});
