/**
 * A local fake of the Replicate HTTP API on 127.0.0.1, for the real `replicate` client (baseUrl):
 * predictions (create for official models and by version, get, cancel), account, models, and the
 * output files. Each new prediction follows the next plan in `plans` (default: succeed at once
 * with a PNG); `createAnswers` scripts the HTTP answer of create requests (429, 500, malformed
 * JSON …) before any prediction is made.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pngFor } from '../openai/server.ts';

export interface Scripted {
  status?: number;
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
  hang?: boolean;
}

export type Plan =
  /** Done in the create answer (sync mode), output = a PNG URL. */
  | { kind: 'succeed'; image?: Buffer; output?: (fileUrl: string) => unknown }
  /** Starts, then succeeds after `polls` GETs. */
  | { kind: 'after-polls'; polls: number; image?: Buffer }
  /** Fails with this error (e.g. the NSFW message of FLUX). */
  | { kind: 'fail'; error: string }
  /** Never finishes until cancelled. */
  | { kind: 'slow' };

export interface FakePrediction {
  id: string;
  model: string;
  version: string | null;
  input: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  plan: Plan;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  polls: number;
  output: unknown;
  error: string | null;
}

export const NSFW_ERROR = 'NSFW content detected. Try running it again, or try a different prompt.';

export class FakeReplicate {
  token = 'r8_fake_token_for_tests';
  readonly plans: Plan[] = [];
  readonly createAnswers: Scripted[] = [];
  readonly pollAnswers: Scripted[] = [];
  readonly predictions = new Map<string, FakePrediction>();
  readonly cancels: string[] = [];
  readonly requests: { method: string; path: string }[] = [];
  readonly files = new Map<string, Buffer>();
  readonly models = new Set([
    'black-forest-labs/flux-schnell',
    'black-forest-labs/flux-dev',
    'stability-ai/stable-diffusion-3.5-large',
  ]);
  private server!: Server;
  private readonly hanging = new Set<ServerResponse>();

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  /** baseUrl for the replicate client. */
  get url(): string {
    return `${this.origin}/v1`;
  }

  static async start(): Promise<FakeReplicate> {
    const fake = new FakeReplicate();
    fake.server = createServer((req, res) => {
      fake.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: err.message }));
      });
    });
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Create requests that reached the server (scripted or not). */
  creates(): { method: string; path: string }[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/predictions'));
  }

  private json(p: FakePrediction) {
    return {
      id: p.id,
      model: p.model,
      version: p.version ?? 'hidden',
      input: p.input,
      status: p.status,
      output: p.status === 'succeeded' ? p.output : null,
      error: p.error,
      logs: '',
      metrics: p.status === 'succeeded' ? { predict_time: 0.42 } : {},
      created_at: new Date(0).toISOString(),
      urls: {
        get: `${this.url}/predictions/${p.id}`,
        cancel: `${this.url}/predictions/${p.id}/cancel`,
      },
    };
  }

  private async succeed(p: FakePrediction, image?: Buffer, output?: (fileUrl: string) => unknown) {
    const name = `${p.id}.png`;
    this.files.set(name, image ?? (await pngFor(String(p.input.prompt))));
    const fileUrl = `${this.origin}/files/${name}`;
    p.status = 'succeeded';
    p.output = output ? output(fileUrl) : [fileUrl];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    this.requests.push({ method, path });

    if (path.startsWith('/files/')) {
      const file = this.files.get(path.slice('/files/'.length));
      if (!file) return send(res, { status: 404, json: { detail: 'Not found' } });
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': file.length });
      res.end(file);
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return send(res, {
        status: 401,
        json: {
          title: 'Unauthenticated',
          detail: 'You did not pass a valid authentication token',
          status: 401,
        },
      });
    }
    if (method === 'GET' && path === '/v1/account') {
      return send(res, {
        json: { type: 'user', username: 'genir-test', name: 'GenIR Test', github_url: null },
      });
    }
    const model = /^\/v1\/models\/([\w.-]+)\/([\w.-]+)(\/predictions)?$/.exec(path);
    if (model && method === 'GET' && !model[3]) {
      const name = `${model[1]}/${model[2]}`;
      if (!this.models.has(name))
        return send(res, { status: 404, json: { detail: 'Not found.', status: 404 } });
      return send(res, {
        json: {
          owner: model[1],
          name: model[2],
          visibility: 'public',
          run_count: 1,
          url: `https://replicate.com/${name}`,
        },
      });
    }
    if (method === 'POST' && (model?.[3] || path === '/v1/predictions')) {
      const scripted = this.createAnswers.shift();
      if (scripted) return this.answer(res, scripted);
      const body = JSON.parse(raw || '{}') as { input?: Record<string, unknown>; version?: string };
      const name = model ? `${model[1]}/${model[2]}` : 'unknown/by-version';
      if (model && !this.models.has(name))
        return send(res, { status: 404, json: { detail: 'Model not found', status: 404 } });
      const p: FakePrediction = {
        id: randomBytes(6).toString('hex'),
        model: name,
        version: body.version ?? null,
        input: body.input ?? {},
        headers: req.headers,
        plan: this.plans.shift() ?? { kind: 'succeed' },
        status: 'starting',
        polls: 0,
        output: null,
        error: null,
      };
      this.predictions.set(p.id, p);
      if (p.plan.kind === 'succeed') await this.succeed(p, p.plan.image, p.plan.output);
      if (p.plan.kind === 'fail') {
        p.status = 'failed';
        p.error = p.plan.error;
      }
      return send(res, { status: 201, json: this.json(p) });
    }
    const one = /^\/v1\/predictions\/([\w]+)(\/cancel)?$/.exec(path);
    if (one) {
      const p = this.predictions.get(one[1] as string);
      if (!p) return send(res, { status: 404, json: { detail: 'Not found.' } });
      if (one[2] && method === 'POST') {
        this.cancels.push(p.id);
        if (p.status === 'starting' || p.status === 'processing') p.status = 'canceled';
        return send(res, { json: this.json(p) });
      }
      if (method === 'GET') {
        const scripted = this.pollAnswers.shift();
        if (scripted) return this.answer(res, scripted);
        p.polls++;
        if (p.status === 'starting') p.status = 'processing';
        if (p.plan.kind === 'after-polls' && p.status === 'processing' && p.polls >= p.plan.polls) {
          await this.succeed(p, p.plan.image);
        }
        return send(res, { json: this.json(p) });
      }
    }
    send(res, { status: 404, json: { detail: `no route ${method} ${path}` } });
  }

  private answer(res: ServerResponse, s: Scripted): void {
    if (s.hang) {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    send(res, s);
  }
}

function send(res: ServerResponse, s: Scripted): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...s.headers };
  res.writeHead(s.status ?? 200, headers);
  res.end(s.body ?? (s.json !== undefined ? JSON.stringify(s.json) : ''));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
