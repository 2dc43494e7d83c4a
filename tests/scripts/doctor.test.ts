/**
 * `genir doctor` against the local fakes: what is used, what is missing or broken, and how to fix
 * it; the exit code is 1 only when something is broken. No network but 127.0.0.1.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bots/config.ts';
import { type Check, doctorCommand, formatDoctor, runDoctor } from '../../scripts/doctor.ts';
import { FakeOpenAI } from '../fakes/openai/server.ts';
import { FakeReplicate } from '../fakes/replicate/server.ts';
import { closedPort } from '../fakes/shared/http.ts';

let openai: FakeOpenAI;
let replicate: FakeReplicate;
let dataDir: string;

beforeAll(async () => {
  [openai, replicate] = await Promise.all([FakeOpenAI.start(), FakeReplicate.start()]);
  openai.apiKey = 'sk-doctor';
  dataDir = await mkdtemp(join(tmpdir(), 'genir-doctor-'));
});
afterAll(async () => {
  await Promise.all([openai.close(), replicate.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

const config = (env: Record<string, string> = {}) =>
  loadConfig({ DATA_DIR: dataDir, ...env }, { dotenv: false, lenient: true });

const real = () => ({
  REFINER: 'openai',
  OPENAI_BASE_URL: openai.url,
  OPENAI_API_KEY: 'sk-doctor',
  GENERATOR: 'replicate',
  REPLICATE_API_TOKEN: replicate.token,
  REPLICATE_BASE_URL: replicate.url,
});

const find = (checks: Check[], area: Check['area'], status: Check['status']) =>
  checks.filter((c) => c.area === area && c.status === status).map((c) => c.message);

async function closedUrl(): Promise<string> {
  return `http://127.0.0.1:${await closedPort()}/v1`;
}

describe('genir doctor', () => {
  it('offline defaults: everything in order, exit 0', async () => {
    const lines: string[] = [];
    const code = await doctorCommand(config(), (t) => lines.push(t));
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toContain('✓ refiner   rules (offline scene-grammar merger; no setup)');
    expect(text).toContain('✓ generator sketch (offline scene renderer; no setup)');
    expect(text).toMatch(
      /✓ encoder {3}tiny-scene-v1 \(423 dims, 64 px stretch\) from models\/tiny-encoder\.onnx: loaded and warmed in \d+ ms/,
    );
    expect(text).toContain(`✓ data      DATA_DIR ${dataDir} is writable`);
    expect(text).toContain('All set.');
  });

  it('configured providers that work: reachable, model available, signed in, cost per image', async () => {
    const checks = await runDoctor(config(real()));
    expect(find(checks, 'refiner', 'ok')).toEqual([
      `gpt-4o-mini on ${openai.url}: reachable, model available`,
    ]);
    expect(find(checks, 'generator', 'ok')).toEqual([
      'replicate black-forest-labs/flux-schnell: signed in as genir-test',
      'replicate black-forest-labs/flux-schnell: model found',
    ]);
    expect(find(checks, 'generator', 'info')).toEqual([
      'estimated $0.003 per image (MODEL_PRICES overrides)',
    ]);
    expect(checks.filter((c) => c.status === 'error')).toEqual([]);
  });

  it('rejected credentials: named, with the fix, exit 1, and no secret in the output', async () => {
    const lines: string[] = [];
    const code = await doctorCommand(
      config({
        ...real(),
        OPENAI_API_KEY: 'sk-wrong-secret-key',
        REPLICATE_API_TOKEN: 'r8_wrong_secret_token',
      }),
      (t) => lines.push(t),
    );
    expect(code).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain(
      `✗ refiner   gpt-4o-mini on ${openai.url}: openai: the API key was rejected (HTTP 401)`,
    );
    expect(text).toContain('fix: check OPENAI_API_KEY');
    expect(text).toContain(
      '✗ generator replicate black-forest-labs/flux-schnell: replicate: the API key was rejected (HTTP 401)',
    );
    expect(text).toContain(
      'fix: the token was rejected: create a new one at https://replicate.com/account/api-tokens',
    );
    expect(text).not.toContain('sk-wrong-secret-key');
    expect(text).not.toContain('r8_wrong_secret_token');
    expect(text).toMatch(/2 problems, 0 warnings\.$/);
  });

  it('missing keys are reported without calling anyone', async () => {
    const checks = await runDoctor(config({ REFINER: 'openai', GENERATOR: 'replicate' }));
    expect(checks.find((c) => c.area === 'refiner')).toMatchObject({
      status: 'error',
      message: 'gpt-4o-mini on https://api.openai.com/v1: OPENAI_API_KEY is not set',
    });
    expect(checks.find((c) => c.area === 'generator')).toMatchObject({
      status: 'error',
      message: 'replicate black-forest-labs/flux-schnell: REPLICATE_API_TOKEN is not set',
      fix: 'create a token at https://replicate.com/account/api-tokens and set REPLICATE_API_TOKEN',
    });
  });

  it('a local server without the model: a warning with how to pull it', async () => {
    const checks = await runDoctor(config({ ...real(), REFINER_MODEL: 'gemma3:4b' }));
    const warn = checks.find((c) => c.area === 'refiner' && c.status === 'warn');
    expect(warn?.message).toBe(
      `gemma3:4b on ${openai.url}: reachable, but "gemma3:4b" is not in its model list (it lists: gpt-4o-mini, gpt-image-1, dall-e-3)`,
    );
    expect(warn?.fix).toContain('"ollama pull gemma3:4b"');
  });

  it('an unreachable server and an unknown Replicate model', async () => {
    const url = await closedUrl();
    const checks = await runDoctor(
      config({ ...real(), OPENAI_BASE_URL: url, REPLICATE_MODEL: 'nobody/no-such-model' }),
      { timeoutMs: 3_000 },
    );
    const refiner = checks.find((c) => c.area === 'refiner' && c.status === 'error');
    expect(refiner?.message).toBe(`gpt-4o-mini on ${url}: openai: cannot reach the service: ECONNREFUSED`);
    expect(refiner?.fix).toContain('start the server');
    expect(find(checks, 'generator', 'error')).toEqual(['replicate nobody/no-such-model: no such model']);
    expect(find(checks, 'generator', 'info')[0]).toBe(
      'no price known for nobody/no-such-model: rounds record no cost estimate',
    );
  });

  it('OpenAI images: the image model is checked on the image server', async () => {
    const checks = await runDoctor(
      config({
        GENERATOR: 'openai-images',
        IMAGE_BASE_URL: openai.url,
        OPENAI_API_KEY: 'sk-doctor',
        IMAGE_QUALITY: 'low',
      }),
    );
    expect(find(checks, 'generator', 'ok')).toEqual([
      `gpt-image-1 on ${openai.url}: reachable, model available`,
    ]);
    expect(find(checks, 'generator', 'info')).toEqual([
      'estimated $0.011 per image (MODEL_PRICES overrides)',
    ]);
  });

  it('encoder files: missing ones point at genir models fetch; a text weight without a text model warns', async () => {
    const missing = await runDoctor(
      config({ ENCODER_MODEL: 'models/clip-vit-base-patch32/vision_model.onnx' }),
    );
    expect(missing.find((c) => c.area === 'encoder')).toMatchObject({
      status: 'error',
      message: 'ENCODER_MODEL models/clip-vit-base-patch32/vision_model.onnx is missing',
    });
    expect(missing.find((c) => c.area === 'encoder')?.fix).toContain(
      'genir models fetch clip-vit-base-patch32',
    );
    const weighted = await runDoctor(config({ TEXT_WEIGHT: '0.3' }));
    expect(find(weighted, 'encoder', 'warn')).toEqual([
      'TEXT_WEIGHT=0.3 but there is no text model: rounds use the image vector only',
    ]);
  });

  it('formats fixes under the failing line and counts problems', () => {
    const text = formatDoctor([
      { area: 'refiner', status: 'ok', message: 'fine' },
      { area: 'encoder', status: 'warn', message: 'hmm', fix: 'do this' },
    ]);
    expect(text.split('\n').slice(2)).toEqual([
      '  ✓ refiner   fine',
      '  ! encoder   hmm',
      '              fix: do this',
      '',
      '0 problems, 1 warning.',
    ]);
  });
});
