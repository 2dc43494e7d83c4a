/**
 * A local fake of the OpenAI API on 127.0.0.1, for the real `openai` client (baseURL):
 * GET /v1/models, POST /v1/chat/completions, POST /v1/images/generations, and GET /files/<name>
 * for URL answers. Tests push scripted answers (429 with Retry-After, 500, malformed JSON, a
 * request that never answers, refusals …) onto `chat` / `images`; when a queue is empty the
 * server answers like a well-behaved model.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sharp from 'sharp';
import { FakeJsonApi, readBody, type Scripted, sendScripted } from '../shared/http.ts';

export type { Scripted } from '../shared/http.ts';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string };
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
}

/** A chat completion whose message content is `content`. */
export function completion(content: string | null, extra: { refusal?: string; finishReason?: string } = {}) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'fake',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: extra.refusal ?? null },
        finish_reason: extra.finishReason ?? 'stop',
      },
    ],
    usage: { prompt_tokens: 200, completion_tokens: 40, total_tokens: 240 },
  };
}

/** The JSON object the refiner asks for, as message content (`unclear`: a low-confidence answer). */
export const refined = (query: string, intent: 'refine' | 'restart' = 'refine', unclear?: string) =>
  completion(JSON.stringify({ query, intent, confidence: unclear ? 0.1 : 0.9, unclear: unclear ?? '' }));

export const rateLimited = (retryAfterSeconds = 0): Scripted => ({
  status: 429,
  headers: { 'retry-after': String(retryAfterSeconds) },
  json: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
});

export const serverError = (): Scripted => ({
  status: 500,
  json: { error: { message: 'The server had an error', type: 'server_error' } },
});

/** A solid-colour PNG whose colour depends on the text (so different prompts give different pictures). */
export async function pngFor(text: string, size = 64): Promise<Buffer> {
  const h = createHash('sha256').update(text).digest();
  return sharp({
    create: { width: size, height: size, channels: 3, background: { r: h[0]!, g: h[1]!, b: h[2]! } },
  })
    .png()
    .toBuffer();
}

/** A size × size PNG of gaussian noise: it hardly compresses, so it is large (for the size caps). */
export async function noisyPng(size: number): Promise<Buffer> {
  return sharp({
    create: {
      width: size,
      height: size,
      channels: 3,
      background: { r: 0, g: 0, b: 0 },
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .png()
    .toBuffer();
}

/** The data the refiner put in its user message. */
export function searchData(body: ChatBody): { current_description: string | null; new_message: string } {
  const user = body.messages.find((m) => m.role === 'user')?.content ?? '';
  const start = user.indexOf('{');
  const end = user.lastIndexOf('}');
  return JSON.parse(user.slice(start, end + 1));
}

export class FakeOpenAI extends FakeJsonApi {
  readonly requests: Recorded[] = [];
  /** Scripted answers to chat completions, in order; then the default model. */
  readonly chat: Scripted[] = [];
  /** Scripted answers to image generations, in order; then the default image. */
  readonly images: Scripted[] = [];
  /** Files served at /files/<name> (for URL image answers). */
  readonly files = new Map<string, Buffer>();
  models = ['gpt-4o-mini', 'gpt-image-1', 'dall-e-3'];
  /** When set, other bearer tokens get 401. */
  apiKey: string | undefined;
  /** Answer 400 to response_format json_schema (a server without structured outputs). */
  rejectJsonSchema = false;
  /** Answer 400 to any response_format (a server without JSON mode either). */
  rejectJsonObject = false;

  /** Forgets what tests scripted and what was requested (between tests). */
  reset(): void {
    this.requests.length = 0;
    this.chat.length = 0;
    this.images.length = 0;
    this.rejectJsonSchema = false;
    this.rejectJsonObject = false;
  }

  /** Requests to a path (e.g. '/v1/chat/completions'). */
  calls(path: string): Recorded[] {
    return this.requests.filter((r) => r.path === path);
  }

  chatBodies(): ChatBody[] {
    return this.calls('/v1/chat/completions').map((r) => r.body as ChatBody);
  }

  protected errorJson(err: Error): unknown {
    return { error: { message: err.message } };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const raw = (await readBody(req)).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {}
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body });

    if (url.pathname.startsWith('/files/')) {
      const file = this.files.get(url.pathname.slice('/files/'.length));
      if (!file) return sendScripted(res, { status: 404, json: { error: 'no such file' } });
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': file.length });
      res.end(file);
      return;
    }
    if (this.apiKey && req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return sendScripted(res, {
        status: 401,
        json: {
          error: {
            message: 'Incorrect API key provided',
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        },
      });
    }
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      return sendScripted(res, {
        json: {
          object: 'list',
          data: this.models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })),
        },
      });
    }
    if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
      const next = this.chat.shift();
      if (next) return this.answer(res, next);
      return sendScripted(res, this.defaultChat(body as ChatBody));
    }
    if (req.method === 'POST' && url.pathname === '/v1/images/generations') {
      const next = this.images.shift();
      if (next) return this.answer(res, next);
      const { prompt } = body as { prompt: string };
      const png = await pngFor(prompt);
      return sendScripted(res, {
        json: { created: 0, data: [{ b64_json: png.toString('base64') }], quality: 'low' },
      });
    }
    sendScripted(res, {
      status: 404,
      json: { error: { message: `no route ${req.method} ${url.pathname}` } },
    });
  }

  /** A well-behaved model: merges the current description and the new message. */
  private defaultChat(body: ChatBody): Scripted {
    const format = body.response_format?.type;
    if (format === 'json_schema' && this.rejectJsonSchema) {
      return {
        status: 400,
        json: { error: { message: "response_format 'json_schema' is not supported by this server" } },
      };
    }
    if (format && this.rejectJsonObject) {
      return { status: 400, json: { error: { message: `response_format '${format}' is not supported` } } };
    }
    const data = searchData(body);
    const restart = /^start over/i.test(data.new_message);
    const message = data.new_message.replace(/^start over[,:]?\s*/i, '');
    // Not a description: a link, or no word at all (a run of one letter, digits, punctuation).
    if (/^https?:\/\/\S+$/i.test(message.trim()))
      return { json: refined(data.current_description ?? '', 'refine', 'a link') };
    if (!/\b(?![a-z]\b)(?!([a-z])\1+\b)[a-z]*[aeiou][a-z]*\b/i.test(message)) {
      return { json: refined(data.current_description ?? '', 'refine', 'a message with no words') };
    }
    const query = restart || !data.current_description ? message : `${data.current_description}, ${message}`;
    return { json: refined(query, restart ? 'restart' : 'refine') };
  }
}
