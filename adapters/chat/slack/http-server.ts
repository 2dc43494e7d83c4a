/**
 * The HTTP server in front of Bolt's HTTPReceiver. Bolt reads a whole request body into memory
 * before it checks the signature, so anyone could make the bot hold hundreds of megabytes; here a
 * body is refused (413) as soon as it is known to be larger than Slack ever sends, before it is
 * read, and a request whose timestamp is more than five minutes away from now (either way: Bolt
 * only refuses old ones) is refused (401) without reading it at all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../core/ports.ts';

/** Slack's event, command and interaction payloads are a few kB; 1 MB leaves a wide margin. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Slack's replay window for X-Slack-Request-Timestamp (docs: "Verifying requests from Slack"). */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;
/** Slack waits 3 s for an answer; a request still arriving after this is not Slack's. */
const REQUEST_TIMEOUT_MS = 10_000;

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface GuardOptions {
  maxBodyBytes?: number;
  logger?: Logger;
  /** Seconds since the epoch (tests). */
  now?: () => number;
}

/** Answers and closes the connection; the rest of the body is never read. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  req.unpipe();
  res.shouldKeepAlive = false;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(text, () => req.socket.destroySoon());
}

/** Why a request is refused before its body is read, or null. */
function earlyProblem(req: IncomingMessage, max: number, now: number): [number, string] | null {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return [413, 'request body too large'];
  const stamp = req.headers['x-slack-request-timestamp'];
  // Without a timestamp Bolt refuses the request itself (or takes an ssl_check).
  if (typeof stamp === 'string' && Math.abs(now - Number(stamp)) > MAX_CLOCK_SKEW_SECONDS)
    return [401, 'request timestamp outside the allowed window'];
  return null;
}

/**
 * Wraps Bolt's request listener: POST bodies are read here with the cap and handed on already
 * buffered (Bolt's `rawBody`, which it then uses instead of reading the stream itself).
 */
export function guardedListener(listener: RequestListener, options: GuardOptions = {}): RequestListener {
  const max = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const now = options.now ?? (() => Date.now() / 1000);
  const logger = options.logger;
  const pass = (req: IncomingMessage, res: ServerResponse) => {
    try {
      listener(req, res);
    } catch (err) {
      // Bolt throws for paths it does not serve.
      logger?.warn({ url: req.url, err: (err as Error).message }, 'slack: request not handled');
      if (!res.headersSent) res.writeHead(404).end();
    }
  };
  return (req, res) => {
    if (req.method !== 'POST') return pass(req, res);
    const problem = earlyProblem(req, max, now());
    if (problem) {
      logger?.warn({ status: problem[0], url: req.url }, `slack: refused a request (${problem[1]})`);
      return refuse(req, res, problem[0], problem[1]);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        logger?.warn({ status: 413, url: req.url }, 'slack: refused a request (request body too large)');
        refuse(req, res, 413, 'request body too large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('error', (err) => logger?.warn({ err: err.message }, 'slack: request stream failed'));
    req.on('end', () => {
      if (total > max) return;
      Object.assign(req, { rawBody: Buffer.concat(chunks, total) });
      pass(req, res);
    });
  };
}

/** Starts a node:http server running `listener` behind the guard; resolves once it listens. */
export async function startGuardedServer(
  listener: RequestListener,
  listen: { port: number; host?: string },
  options: GuardOptions = {},
): Promise<{ server: Server; port: number }> {
  const server = createServer(guardedListener(listener, options));
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Stops taking connections; resolves when the requests under way have been answered. */
export async function stopServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve, reject) =>
    server.close((err) => (err ? reject(err) : resolve())),
  );
  server.closeIdleConnections();
  await closed;
}
