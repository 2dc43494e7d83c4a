/**
 * A fake OpenAI-compatible chat server on 127.0.0.1 for the VLM user of `genir eval`: answers
 * POST /v1/chat/completions with whatever the test's responder returns, records every request,
 * and can fail the next requests with a status code (to exercise the client's retries).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenLocal, readBody, sendJson } from '../shared/http.ts';

export interface ChatRequest {
  model: string;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  messages: {
    role: string;
    content: string | ({ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } })[];
  }[];
}

/** The text parts and image URLs of a request's user message. */
export function userParts(request: ChatRequest): { texts: string[]; images: string[] } {
  const user = request.messages.find((m) => m.role === 'user');
  const content =
    typeof user?.content === 'string'
      ? [{ type: 'text' as const, text: user.content }]
      : (user?.content ?? []);
  return {
    texts: content.flatMap((p) => (p.type === 'text' ? [p.text] : [])),
    images: content.flatMap((p) => (p.type === 'image_url' ? [p.image_url.url] : [])),
  };
}

export interface FakeVisionServer {
  /** Base URL for the openai client (ends in /v1). */
  url: string;
  requests: ChatRequest[];
  /** Fail the next `count` chat requests with this HTTP status. */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

export async function startFakeVisionServer(
  respond: (request: ChatRequest) => string,
): Promise<FakeVisionServer> {
  const requests: ChatRequest[] = [];
  const failures: number[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      return sendJson(res, 404, {
        error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' },
      });
    }
    const failure = failures.shift();
    if (failure !== undefined)
      return sendJson(res, failure, { error: { message: 'injected failure', type: 'server_error' } });
    const request = JSON.parse(raw.toString('utf8')) as ChatRequest;
    requests.push(request);
    const content = respond(request);
    sendJson(res, 200, {
      id: `chatcmpl-${requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) =>
      sendJson(res, 500, { error: { message: String(err), type: 'server_error' } }),
    );
  });
  const port = await listenLocal(server);
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext(status, count = 1) {
      for (let i = 0; i < count; i++) failures.push(status);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
