/**
 * A local fake of the Replicate HTTP API on 127.0.0.1, for the real `replicate` client (baseUrl):
 * predictions (create for official models and by version, get, cancel), account, models, and the
 * output files. Each new prediction follows the next plan in `plans` (default: succeed at once
 * with a PNG); `createAnswers` scripts the HTTP answer of create requests (429, 500, malformed
 * JSON …) before any prediction is made.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pngFor } from '../openai/server.ts';
import { FakeJsonApi, readBody, type Scripted, sendScripted } from '../shared/http.ts';

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

export class FakeReplicate extends FakeJsonApi {
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

  /** Forgets what tests scripted and what was requested (between tests). */
  reset(): void {
    this.plans.length = 0;
    this.createAnswers.length = 0;
    this.pollAnswers.length = 0;
    this.requests.length = 0;
    this.cancels.length = 0;
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

  protected errorJson(err: Error): unknown {
    return { detail: err.message };
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const raw = (await readBody(req)).toString('utf8');
    this.requests.push({ method, path });

    if (path.startsWith('/files/')) {
      const file = this.files.get(path.slice('/files/'.length));
      if (!file) return sendScripted(res, { status: 404, json: { detail: 'Not found' } });
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': file.length });
      res.end(file);
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return sendScripted(res, {
        status: 401,
        json: {
          title: 'Unauthenticated',
          detail: 'You did not pass a valid authentication token',
          status: 401,
        },
      });
    }
    if (method === 'GET' && path === '/v1/account') {
      return sendScripted(res, {
        json: { type: 'user', username: 'genir-test', name: 'GenIR Test', github_url: null },
      });
    }
    const model = /^\/v1\/models\/([\w.-]+)\/([\w.-]+)(\/predictions)?$/.exec(path);
    if (model && method === 'GET' && !model[3]) {
      const name = `${model[1]}/${model[2]}`;
      if (!this.models.has(name))
        return sendScripted(res, { status: 404, json: { detail: 'Not found.', status: 404 } });
      return sendScripted(res, {
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
        return sendScripted(res, { status: 404, json: { detail: 'Model not found', status: 404 } });
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
      return sendScripted(res, { status: 201, json: this.json(p) });
    }
    const one = /^\/v1\/predictions\/([\w]+)(\/cancel)?$/.exec(path);
    if (one) {
      const p = this.predictions.get(one[1] as string);
      if (!p) return sendScripted(res, { status: 404, json: { detail: 'Not found.' } });
      if (one[2] && method === 'POST') {
        this.cancels.push(p.id);
        if (p.status === 'starting' || p.status === 'processing') p.status = 'canceled';
        return sendScripted(res, { json: this.json(p) });
      }
      if (method === 'GET') {
        const scripted = this.pollAnswers.shift();
        if (scripted) return this.answer(res, scripted);
        p.polls++;
        if (p.status === 'starting') p.status = 'processing';
        if (p.plan.kind === 'after-polls' && p.status === 'processing' && p.polls >= p.plan.polls) {
          await this.succeed(p, p.plan.image);
        }
        return sendScripted(res, { json: this.json(p) });
      }
    }
    sendScripted(res, { status: 404, json: { detail: `no route ${method} ${path}` } });
  }
}
