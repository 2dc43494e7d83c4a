/**
 * Plumbing shared by the local fake HTTP servers (OpenAI, Replicate, Discord, Slack, the hub …):
 * listening on a free port of 127.0.0.1 and closing again, reading a request body, JSON replies,
 * and the scripted replies (status, JSON or raw body, or no answer at all) tests push onto a fake.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts `server` on a free port of 127.0.0.1; resolves to that port. */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** `http://127.0.0.1:<port>` of a server started with listenLocal. */
export function localOrigin(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server` at once: replies held open are destroyed and open connections dropped. */
export async function closeServer(server: Server, held: Iterable<ServerResponse> = []): Promise<void> {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenLocal(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that runs `handle` for each request; when it throws, the answer is 500 with `errorJson(err)`. */
export function jsonServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  errorJson: (err: Error) => unknown,
): Server {
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(errorJson(err as Error)));
    });
  });
}

/** The whole body of a request. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Answers `json` as application/json; `headers` may add to or replace the content type. */
export function sendJson(
  res: ServerResponse,
  status: number,
  json: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(json));
}

/** An answer a test scripts for a fake. */
export interface Scripted {
  status?: number;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent verbatim (with contentType, default application/json): e.g. malformed JSON. */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Never answer (until the client gives up and closes the connection). */
  hang?: boolean;
}

/** Sends a scripted answer (one that does not hang). */
export function sendScripted(res: ServerResponse, s: Scripted): void {
  const headers: Record<string, string> = { ...s.headers };
  let payload = '';
  if (s.body !== undefined) {
    payload = s.body;
    headers['content-type'] ??= s.contentType ?? 'application/json';
  } else if (s.json !== undefined) {
    payload = JSON.stringify(s.json);
    headers['content-type'] ??= 'application/json';
  }
  res.writeHead(s.status ?? 200, headers);
  res.end(payload);
}

/**
 * A fake JSON API on 127.0.0.1 (under /v1) that tests script: the server's lifetime and address,
 * and scripted answers, of which those that hang are held open until the server closes.
 */
export abstract class FakeJsonApi {
  private server!: Server;
  private readonly hanging = new Set<ServerResponse>();

  /** A listening fake of this kind. */
  static async start<T extends FakeJsonApi>(this: new () => T): Promise<T> {
    const fake = new this();
    await fake.listen();
    return fake;
  }

  get origin(): string {
    return localOrigin(this.server);
  }
  /** The API base URL for the client (baseURL / baseUrl). */
  get url(): string {
    return `${this.origin}/v1`;
  }

  async listen(): Promise<void> {
    this.server = jsonServer(
      (req, res) => this.handle(req, res),
      (err) => this.errorJson(err),
    );
    await listenLocal(this.server);
  }

  async close(): Promise<void> {
    await closeServer(this.server, this.hanging);
  }

  /** Sends a scripted answer, or holds it open until close when it asks to hang. */
  protected answer(res: ServerResponse, s: Scripted): void {
    if (s.hang) {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
    } else {
      sendScripted(res, s);
    }
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The body of the 500 answered when handle throws. */
  protected abstract errorJson(err: Error): unknown;
}
