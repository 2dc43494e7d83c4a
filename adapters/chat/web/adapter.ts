/**
 * The local web playground: one page (plain HTML/CSS/JS in ./page, no build step), a JSON API and
 * one server-sent-event stream per open tab. Same engine, same round view, same actions as the
 * Discord and Slack bots; several threads, each stored in the thread store like any other.
 *
 *   GET  /, /t/:id                          the page (/t/:id answers 404 unless it is one of this browser's threads)
 *   GET  /api/info                          limits, commands, the forget action id, example descriptions, auth mode
 *   POST /api/session                       {token}: WEB_AUTH=token's sign-in (sets the session cookie)
 *   GET  /api/threads[?also=:id]            this browser's threads (newest first; `also`: that one too, if it exists)
 *   POST /api/threads                       new thread
 *   GET  /api/threads/:id                   a thread with every stored round
 *   DELETE /api/threads/:id                 deletes the search (its rounds, pictures and transcript records)
 *   GET  /api/threads/:id/events?client=…   SSE: snapshot, then post / progress / busy / done / thread
 *   POST /api/threads/:id/messages          {text, eventId?, clientId?} (JSON) or multipart with `image`
 *   POST /api/threads/:id/actions           {actionId, eventId?, clientId?}
 *   GET  /img/rounds/:id/:roundId/synthetic.png | sheet.png
 *   GET  /img/assets/:assetId[/thumb|/original]
 *
 * Every /api and /img request but /api/info and /api/session needs an identity (./session.ts); a
 * thread id is looked up among the requesting browser's threads only, so another browser's thread
 * answers 404 exactly like one that never existed. Wrong methods answer 405 with Allow.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { COMMANDS, decodeActionId, encodeActionId, LATEST } from '../../../commands/index.ts';
import { describeError } from '../../../core/error-text.ts';
import type { ChatEngine, ChatFrontEnd, Gallery, Logger, RoundImageStore } from '../../../core/ports.ts';
import type { InboundMessage, ThreadKey, ThreadSink, ThreadState } from '../../../core/types.ts';
import { InFlight } from '../shared/in-flight.ts';
import { MAX_TEXT_CHARS, tooLongText } from '../shared/text.ts';
import { MAX_UPLOAD_BYTES } from '../shared/uploads.ts';
import { EventHub } from './events.ts';
import { type ImageResponse, WebImages } from './images.ts';
import { actionLabel, TITLE_MAX_CHARS, type WebPost, WebRenderer } from './renderer.ts';
import { type WebAuth, type WebIdentity, WebSessions } from './session.ts';
import {
  decodeThreadId,
  encodeThreadId,
  isThreadId,
  newThreadId,
  ownerPrefix,
  webThreadIdOf,
} from './thread-id.ts';

export interface WebChatDeps {
  engine: ChatEngine;
  gallery: Gallery;
  images: RoundImageStore;
  logger: Logger;
}

export interface WebChatOptions {
  /** Where start() listens (port 0 picks a free one). */
  port?: number;
  host?: string;
  /** Longest message accepted at all (longer → 413); the engine's own limit truncates with a note. */
  maxTextChars?: number;
  maxUploadBytes?: number;
  /** Threads listed in the sidebar. */
  maxThreads?: number;
  /**
   * Answer only requests whose Host is a loopback name (localhost, 127.0.0.1, [::1]): a guard
   * against DNS rebinding when bound to a loopback address.
   */
  localOnly?: boolean;
  /** Descriptions offered on an empty thread. */
  examples?: string[];
  /** Who a browser is (default: WEB_AUTH=none with a secret made up for this process). */
  auth?: WebAuth;
  /** Mark the session cookie Secure (the page is reached over HTTPS). */
  secureCookies?: boolean;
}

export const DEFAULT_EXAMPLES = [
  'a large red circle at the top left',
  'two small blue stars on a yellow background',
  'a green triangle in the center on a white background',
];

const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;
const EVENT_ID = /^[A-Za-z0-9_.:-]{1,100}$/;
const IMAGE_TYPE = /^image\/(png|jpe?g|webp|gif|avif|tiff)$/i;
const IMAGE_NAME = /\.(png|jpe?g|webp|gif|avif|tiff?)$/i;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

const PAGE_DIR = new URL('./page/', import.meta.url);
const PAGE_FILES = {
  html: 'index.html',
  '/static/app.js': 'app.js',
  '/static/app.css': 'app.css',
  '/static/icon.svg': 'icon.svg',
} as const;
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type Env = { Variables: { identity: WebIdentity } };

/** The methods each known path takes (anything else: 405 with Allow). */
const METHODS: [string, string][] = [
  ['/', 'GET, HEAD'],
  ['/t/:id', 'GET, HEAD'],
  ...Object.keys(PAGE_FILES)
    .filter((r) => r.startsWith('/'))
    .map((r): [string, string] => [r, 'GET, HEAD']),
  ['/api/info', 'GET, HEAD'],
  ['/api/session', 'POST'],
  ['/api/threads', 'GET, HEAD, POST'],
  ['/api/threads/:id', 'GET, HEAD, PATCH, DELETE'],
  ['/api/threads/:id/events', 'GET, HEAD'],
  ['/api/threads/:id/messages', 'POST'],
  ['/api/threads/:id/actions', 'POST'],
  ['/img/rounds/:id/:roundId/synthetic.png', 'GET, HEAD'],
  ['/img/rounds/:id/:roundId/sheet.png', 'GET, HEAD'],
  ['/img/assets/:assetId', 'GET, HEAD'],
  ['/img/assets/:assetId/thumb', 'GET, HEAD'],
  ['/img/assets/:assetId/original', 'GET, HEAD'],
];

const jsonLimit = () =>
  bodyLimit({ maxSize: 512 * 1024, onError: (c) => tooLarge(c, 'That message is too large.') });

class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

interface MessageInput {
  text: string;
  eventId: string | null;
  clientId: string | null;
  images: { name: string; data: Buffer }[];
  rejectedFiles: { name: string; reason: string }[];
}

export class WebChat implements ChatFrontEnd {
  readonly name = 'web';
  readonly app: Hono<Env>;
  /** The page's address once started. */
  url = '';
  port = 0;
  readonly hub = new EventHub();
  private readonly renderer: WebRenderer;
  private readonly pictures: WebImages;
  private readonly options: Required<Omit<WebChatOptions, 'auth'>>;
  private readonly sessions: WebSessions;
  private readonly page: Map<string, { body: string; type: string }>;
  private readonly inFlight: InFlight;
  private server: Server | null = null;

  constructor(
    private readonly deps: WebChatDeps,
    options: WebChatOptions = {},
  ) {
    this.inFlight = new InFlight(deps.logger, 'web event failed');
    this.options = {
      port: 0,
      host: '127.0.0.1',
      maxTextChars: MAX_TEXT_CHARS,
      maxUploadBytes: MAX_UPLOAD_BYTES,
      maxThreads: 100,
      localOnly: false,
      examples: DEFAULT_EXAMPLES,
      secureCookies: false,
      ...options,
    };
    this.sessions = new WebSessions(
      options.auth ?? { mode: 'none', secret: randomBytes(32).toString('base64url') },
      this.options.secureCookies,
    );
    this.renderer = new WebRenderer(deps.gallery, deps.engine.settings.transcripts);
    this.pictures = new WebImages(deps);
    this.page = new Map(
      Object.entries(PAGE_FILES).map(([route, file]) => [
        route,
        {
          body: readFileSync(new URL(file, PAGE_DIR), 'utf8'),
          type: TYPES[file.split('.').pop() as string] as string,
        },
      ]),
    );
    this.app = this.routes();
  }

  /** Starts listening on the configured port and host. */
  async start(): Promise<void> {
    if (this.server) throw new Error('the web chat is already listening');
    const { port, host } = this.options;
    const server = await new Promise<Server>((resolve, reject) => {
      // Leave the process's global Request/Response alone (other adapters share the process).
      const s = serve({
        fetch: this.app.fetch,
        port,
        hostname: host,
        overrideGlobalObjects: false,
      }) as Server;
      s.once('listening', () => resolve(s));
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`port ${port} on ${host} is already in use; set WEB_PORT to another port`)
            : err,
        ),
      );
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    const shown = ['127.0.0.1', 'localhost', '0.0.0.0', '::', '::1'].includes(host) ? 'localhost' : host;
    this.url = `http://${shown}:${this.port}`;
    this.deps.logger.info({ url: this.url }, 'web playground listening');
  }

  /** Closes every event stream and the server. Rounds already running finish in the engine. */
  async stop(): Promise<void> {
    this.hub.closeAll();
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Resolves when every message and action accepted so far has been handled. */
  async idle(): Promise<void> {
    await this.inFlight.idle();
    await this.deps.engine.idle();
  }

  private routes(): Hono<Env> {
    const app = new Hono<Env>();
    app.onError((err, c) => {
      if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
      this.deps.logger.error({ err, path: c.req.path }, 'web request failed');
      return c.json({ error: 'Something went wrong on the server.' }, 500);
    });
    app.notFound((c) =>
      c.req.path.startsWith('/api/') || c.req.path.startsWith('/img/')
        ? c.json({ error: 'Not found.' }, 404)
        : c.text('Not found.', 404),
    );
    app.use(async (c, next) => {
      if (this.options.localOnly && !LOOPBACK_HOSTS.has(hostName(c.req.header('host') ?? ''))) {
        return c.text('This server only answers on localhost.', 403);
      }
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        const origin = c.req.header('origin');
        if (origin && !sameOrigin(origin, c.req.header('host'))) {
          return c.json({ error: 'Cross-origin requests are not accepted.' }, 403);
        }
      }
      await next();
      c.header('X-Content-Type-Options', 'nosniff');
      c.header('Referrer-Policy', 'no-referrer');
      c.header('X-Frame-Options', 'DENY');
    });
    // Who is asking: everything but the page's own files, its info and the token sign-in.
    const open = new Set(['/api/info', '/api/session', ...Object.keys(PAGE_FILES)]);
    app.use(async (c, next) => {
      const path = c.req.path;
      const page = path === '/' || path.startsWith('/t/');
      if (open.has(path) || !(page || path.startsWith('/api/') || path.startsWith('/img/'))) return next();
      const who = await this.sessions.identify(c, true);
      if (who.ok) c.set('identity', who.identity);
      else if (!page) return c.json({ error: who.error, auth: who.auth }, who.status);
      await next();
    });

    // The page; a thread that is not this browser's answers 404 (the page then says so).
    const html = (c: Context<Env>, status: 200 | 404 = 200) => {
      const page = this.page.get('html') as { body: string };
      c.header('Content-Security-Policy', PAGE_CSP);
      c.header('Cache-Control', 'no-cache');
      return c.html(page.body, status);
    };
    app.get('/', (c) => html(c));
    app.get('/t/:id', async (c) => {
      const who = c.get('identity');
      const id = c.req.param('id');
      if (!isThreadId(id)) return c.text('Not found.', 404);
      const exists = who ? (await this.deps.engine.thread(encodeThreadId(who.owner, id))) !== null : true;
      return html(c, exists ? 200 : 404);
    });
    for (const route of Object.keys(PAGE_FILES).filter((r) => r.startsWith('/'))) {
      app.get(route, (c) => {
        const file = this.page.get(route) as { body: string; type: string };
        c.header('Content-Type', file.type);
        c.header('Cache-Control', 'no-cache');
        return c.body(file.body);
      });
    }

    // The API.
    app.get('/api/info', async (c) => {
      const who = await this.sessions.identify(c, false);
      return c.json({
        gallerySize: await this.deps.gallery.count(),
        maxTextChars: this.options.maxTextChars,
        maxMessageChars: this.deps.engine.settings.maxMessageChars,
        maxUploadBytes: this.options.maxUploadBytes,
        topK: this.deps.engine.settings.topK,
        commands: COMMANDS.map((cmd) => ({ name: cmd.name, label: cmd.label, help: cmd.help })),
        // Controls that are not on a round: "Forget me" (sent to the open thread's actions).
        actions: { forget: encodeActionId('forget', LATEST) },
        transcripts: this.deps.engine.settings.transcripts,
        examples: this.options.examples,
        auth: this.sessions.mode,
        signedIn: who.ok,
      });
    });
    app.post('/api/session', jsonLimit(), async (c) => {
      if (this.sessions.mode !== 'token') throw new HttpError(400, 'This server does not use access tokens.');
      const body = await readJson(c);
      const token = typeof body.token === 'string' ? body.token : '';
      if (!token || token.length > 1000 || !(await this.sessions.signIn(c, token))) {
        throw new HttpError(401, 'That access token is not right.');
      }
      return c.json({ signedIn: true });
    });
    app.get('/api/threads', async (c) => {
      const { owner } = c.get('identity');
      const states = await this.deps.engine.threads(ownerPrefix(owner), this.options.maxThreads);
      // ?also=<id>: the tab's open thread, listed too if it still exists (it may be older than the
      // newest ones listed); its absence tells the tab the thread was deleted.
      const also = c.req.query('also') ?? '';
      if (isThreadId(also) && !states.some((s) => s.key === encodeThreadId(owner, also))) {
        const open = await this.deps.engine.thread(encodeThreadId(owner, also));
        if (open) states.push(open);
      }
      const threads = states
        .filter((s) => webThreadIdOf(s.key) !== null)
        .map((s) => this.renderer.summary(s));
      return c.json({ threads });
    });
    app.post('/api/threads', async (c) => {
      const { owner, userId } = c.get('identity');
      const state = await this.deps.engine.openThread(encodeThreadId(owner, newThreadId()), userId);
      const summary = this.renderer.summary(state);
      this.hub.broadcast(owner, 'thread', summary);
      return c.json({ thread: summary }, 201);
    });
    app.get('/api/threads/:id', async (c) => {
      const { key, state } = await this.thread(c);
      return c.json({ thread: await this.renderer.thread(state, this.hub.status(key)) });
    });
    app.patch('/api/threads/:id', jsonLimit(), async (c) => {
      const { key } = await this.thread(c);
      const body = await readJson(c);
      if (body.title !== null && typeof body.title !== 'string')
        throw new HttpError(400, '"title" must be a string (or null for the first words).');
      const title = typeof body.title === 'string' ? body.title.replace(/\s+/g, ' ').trim() : '';
      if (title.length > TITLE_MAX_CHARS)
        throw new HttpError(400, `A name has at most ${TITLE_MAX_CHARS} characters.`);
      const state = await this.deps.engine.renameThread(key, title || null);
      if (!state) throw new HttpError(404, 'Search not found.');
      const summary = this.renderer.summary(state);
      this.hub.broadcast(c.get('identity').owner, 'thread', summary);
      return c.json({ thread: summary });
    });
    app.delete('/api/threads/:id', async (c) => {
      const { id, key } = await this.thread(c);
      await this.deps.engine.forgetThread(key);
      this.hub.broadcast(c.get('identity').owner, 'removed', { id });
      return c.body(null, 204);
    });
    app.get('/api/threads/:id/events', async (c) => {
      const { key } = await this.thread(c);
      const client = c.req.query('client') ?? '';
      const { owner } = c.get('identity');
      const body = this.hub.stream(key, owner, CLIENT_ID.test(client) ? client : null, async () => {
        const state = await this.deps.engine.thread(key);
        if (!state) throw new Error('thread vanished');
        return {
          event: 'snapshot',
          data: { thread: await this.renderer.thread(state, this.hub.status(key)) },
        };
      });
      return new Response(body, {
        headers: {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache, no-transform',
          'X-Accel-Buffering': 'no',
        },
      });
    });

    const uploadLimit = bodyLimit({
      maxSize: this.options.maxUploadBytes + 256 * 1024,
      onError: (c) =>
        tooLarge(
          c,
          `That upload is too large; the limit is ${Math.round(this.options.maxUploadBytes / 1024 / 1024)} MB.`,
        ),
    });
    app.post(
      '/api/threads/:id/messages',
      (c, next) => (isMultipart(c) ? uploadLimit(c, next) : jsonLimit()(c, next)),
      async (c) => {
        const { key } = await this.thread(c);
        const { userId } = c.get('identity');
        const input = isMultipart(c) ? await this.multipartMessage(c) : await this.jsonMessage(c);
        const eventId = input.eventId ?? randomUUID();
        const msg: InboundMessage = {
          key,
          eventId: `web:${eventId}`,
          userId,
          text: input.text,
          ...(input.images.length ? { images: input.images } : {}),
          ...(input.rejectedFiles.length ? { rejectedFiles: input.rejectedFiles } : {}),
        };
        if (input.text.trim() || input.images.length) {
          this.post(key, {
            kind: 'user',
            text: input.text,
            action: null,
            image: input.images[0]?.name ?? null,
          });
        }
        this.run(key, eventId, (sink) => this.deps.engine.onMessage(msg, sink), input.clientId);
        return c.json({ accepted: true, eventId }, 202);
      },
    );
    app.post('/api/threads/:id/actions', jsonLimit(), async (c) => {
      const { key } = await this.thread(c);
      const { userId } = c.get('identity');
      const body = await readJson(c);
      const actionId = typeof body.actionId === 'string' ? body.actionId : '';
      const ref = actionId.length <= 100 ? decodeActionId(actionId) : null;
      if (!ref) throw new HttpError(400, 'Unknown action.');
      const eventId = optional(body.eventId, EVENT_ID) ?? randomUUID();
      const clientId = optional(body.clientId, CLIENT_ID);
      this.post(key, {
        kind: 'user',
        text: actionLabel(ref.action, ref.arg),
        action: ref.action,
        image: null,
      });
      this.run(
        key,
        eventId,
        (sink) => this.deps.engine.onAction({ key, eventId: `web:${eventId}`, userId, actionId }, sink),
        clientId,
      );
      return c.json({ accepted: true, eventId }, 202);
    });

    // Pictures, by id only.
    const picture = (c: Context, img: ImageResponse | null, cache: string) => {
      if (!img) return c.json({ error: 'No such picture.' }, 404);
      c.header('Content-Type', img.type);
      c.header('Cache-Control', cache);
      if (img.attachment) {
        c.header('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(img.attachment)}`);
      }
      return c.body(new Uint8Array(img.body));
    };
    // A round's pictures never change once the round exists.
    const immutable = 'private, max-age=31536000, immutable';
    const revalidate = 'private, max-age=300';
    const roundKey = (c: Context<Env>) => {
      const id = c.req.param('id') ?? '';
      return isThreadId(id) ? encodeThreadId(c.get('identity').owner, id) : null;
    };
    app.get('/img/rounds/:id/:roundId/synthetic.png', async (c) => {
      const key = roundKey(c);
      return picture(c, key ? await this.pictures.synthetic(key, c.req.param('roundId')) : null, immutable);
    });
    app.get('/img/rounds/:id/:roundId/sheet.png', async (c) => {
      const key = roundKey(c);
      return picture(c, key ? await this.pictures.sheet(key, c.req.param('roundId')) : null, immutable);
    });
    app.get('/img/assets/:assetId', async (c) =>
      picture(c, await this.pictures.asset(c.req.param('assetId')), revalidate),
    );
    app.get('/img/assets/:assetId/thumb', async (c) =>
      picture(c, await this.pictures.thumb(c.req.param('assetId')), revalidate),
    );
    app.get('/img/assets/:assetId/original', async (c) =>
      picture(c, await this.pictures.original(c.req.param('assetId')), revalidate),
    );

    // Every known path with a method it does not take: 405 and what it does take.
    for (const [path, allow] of METHODS) {
      app.all(path, (c) => {
        c.header('Allow', allow);
        return c.json({ error: `${c.req.method} is not allowed here; use ${allow}.` }, 405);
      });
    }
    return app;
  }

  /** The thread named in the URL among the requesting browser's; 404 otherwise (never 403). */
  private async thread(c: Context<Env>): Promise<{ id: string; key: ThreadKey; state: ThreadState }> {
    const id = c.req.param('id') ?? '';
    if (!isThreadId(id)) throw new HttpError(404, 'No such thread.');
    const key = encodeThreadId(c.get('identity').owner, id);
    const state = await this.deps.engine.thread(key);
    if (!state) throw new HttpError(404, 'No such thread.');
    return { id, key, state };
  }

  private async jsonMessage(c: Context): Promise<MessageInput> {
    const body = await readJson(c);
    if (body.text !== undefined && typeof body.text !== 'string')
      throw new HttpError(400, '"text" must be a string.');
    return {
      text: this.checkText(body.text ?? ''),
      eventId: optional(body.eventId, EVENT_ID),
      clientId: optional(body.clientId, CLIENT_ID),
      images: [],
      rejectedFiles: [],
    };
  }

  private async multipartMessage(c: Context): Promise<MessageInput> {
    let form: Record<string, string | File | (string | File)[]>;
    try {
      form = await c.req.parseBody({ all: true });
    } catch {
      throw new HttpError(400, 'The upload could not be read.');
    }
    const field = (name: string) => {
      const v = form[name];
      return typeof v === 'string' ? v : undefined;
    };
    const files = [form.image ?? []].flat().filter((f): f is File => typeof f !== 'string');
    const images: MessageInput['images'] = [];
    const rejectedFiles: MessageInput['rejectedFiles'] = [];
    for (const f of files) {
      const name = f.name || 'upload';
      if (!(IMAGE_TYPE.test(f.type) || (!f.type && IMAGE_NAME.test(name)))) {
        rejectedFiles.push({
          name,
          reason: 'it is not an image (I can use PNG, JPEG, WebP, GIF, AVIF or TIFF)',
        });
      } else if (f.size > this.options.maxUploadBytes) {
        rejectedFiles.push({
          name,
          reason: `it is larger than ${Math.round(this.options.maxUploadBytes / 1024 / 1024)} MB`,
        });
      } else {
        images.push({ name, data: Buffer.from(await f.arrayBuffer()) });
      }
    }
    return {
      text: this.checkText(field('text') ?? ''),
      eventId: optional(field('eventId'), EVENT_ID),
      clientId: optional(field('clientId'), CLIENT_ID),
      images,
      rejectedFiles,
    };
  }

  private checkText(text: string): string {
    if (text.length > this.options.maxTextChars) {
      throw new HttpError(413, tooLongText(text.length, this.options.maxTextChars));
    }
    return text;
  }

  /** Shows a post in every tab on the thread (or one tab, for ephemeral notices). */
  private post(key: ThreadKey, post: WebPost, thread?: unknown, only?: string | null): void {
    this.hub.publish(key, 'post', { post, thread: thread ?? null }, only);
  }

  private sink(key: ThreadKey, clientId: string | null): ThreadSink {
    const { owner } = decodeThreadId(key);
    return {
      send: async (reply) => {
        const state = await this.deps.engine.thread(key);
        const post = await this.renderer.reply(reply, state);
        if (reply.kind === 'round')
          this.pictures.rememberSheet(key, reply.view.roundId, reply.view.contactSheetPng);
        const summary = state ? this.renderer.summary(state) : null;
        const ephemeral = reply.kind === 'notice' && reply.ephemeral === true;
        this.post(key, post, summary, ephemeral ? clientId : null);
        if (summary) this.hub.broadcast(owner, 'thread', summary);
      },
      progress: (text) => this.hub.progress(key, text),
    };
  }

  private run(
    key: ThreadKey,
    eventId: string,
    job: (sink: ThreadSink) => Promise<void>,
    clientId: string | null,
  ): void {
    const end = this.hub.begin(key);
    const task = job(this.sink(key, clientId))
      .catch((err: unknown) => {
        this.deps.logger.error({ key, err }, 'web event failed');
        this.post(key, {
          kind: 'notice',
          level: 'error',
          text: describeError(err).text,
          ephemeral: false,
        });
      })
      .finally(() => {
        end();
        this.hub.publish(key, 'done', { eventId });
      });
    void this.inFlight.track(task);
  }
}

function isMultipart(c: Context): boolean {
  return /^multipart\/form-data/i.test(c.req.header('content-type') ?? '');
}

async function readJson(c: Context): Promise<Record<string, unknown>> {
  if (!/^application\/json/i.test(c.req.header('content-type') ?? '')) {
    throw new HttpError(415, 'Send JSON (Content-Type: application/json) or multipart/form-data.');
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new HttpError(400, 'The body is not valid JSON.');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'Send a JSON object.');
  return body as Record<string, unknown>;
}

function optional(value: unknown, pattern: RegExp): string | null {
  return typeof value === 'string' && pattern.test(value) ? value : null;
}

function tooLarge(c: Context, message: string): Response {
  return c.json({ error: message }, 413);
}

function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.split(':')[0] as string;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
