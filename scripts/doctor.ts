/**
 * `genir doctor`: what the bot will use, whether each configured provider is reachable with the
 * configured credentials and model, whether the model files are there, and how to fix what is
 * not. Makes only cheap read-only calls (model lists, the account endpoint); never generates.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import OpenAI from 'openai';
import Replicate from 'replicate';
import { defaultConfigPath } from '../adapters/encode/onnx/encoder.ts';
import { classify, describeFailure } from '../adapters/providers/errors.ts';
import { imageCost, priceTable } from '../adapters/providers/prices.ts';
import type { Config } from '../bots/config.ts';
import { loadEncoder } from '../bots/encoder.ts';

export type CheckStatus = 'ok' | 'warn' | 'error' | 'info';

export interface Check {
  area: 'refiner' | 'generator' | 'encoder' | 'limits' | 'data';
  status: CheckStatus;
  message: string;
  fix?: string;
}

export interface DoctorOptions {
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

const OPENAI_DEFAULT = 'https://api.openai.com/v1';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

const isOpenAI = (url: string) => /(^|\.)openai\.com/i.test(new URL(url).hostname);

/** A failed call, in one line, without secrets. */
function reason(
  provider: string,
  err: unknown,
): { text: string; status: number | undefined; network: boolean } {
  const f = classify(err);
  return {
    text: describeFailure(provider, f, 1),
    status: f.status,
    network: f.kind === 'network' || f.kind === 'timeout',
  };
}

async function checkOpenAIModels(
  what: 'refiner' | 'generator',
  baseURL: string,
  apiKey: string | undefined,
  model: string,
  timeoutMs: number,
  keyVar: string,
): Promise<Check[]> {
  const label = `${model} on ${baseURL}`;
  if (!apiKey && isOpenAI(baseURL)) {
    return [
      {
        area: what,
        status: 'error',
        message: `${label}: OPENAI_API_KEY is not set`,
        fix: `create a key at https://platform.openai.com/api-keys and set ${keyVar}, or point ${what === 'refiner' ? 'OPENAI_BASE_URL' : 'IMAGE_BASE_URL'} at a local OpenAI-compatible server (Ollama: http://localhost:11434/v1)`,
      },
    ];
  }
  const client = new OpenAI({ apiKey: apiKey || 'not-needed', baseURL, maxRetries: 0, timeout: timeoutMs });
  let ids: string[];
  try {
    const page = await client.models.list({ signal: AbortSignal.timeout(timeoutMs) });
    ids = page.data.map((m) => m.id);
  } catch (err) {
    const r = reason('openai', err);
    const fix =
      r.status === 401
        ? `check ${keyVar} (a local server accepts any value)`
        : r.network
          ? `start the server (e.g. "ollama serve") or fix ${what === 'refiner' ? 'OPENAI_BASE_URL' : 'IMAGE_BASE_URL / OPENAI_BASE_URL'}`
          : 'check the base URL: it must end in /v1 for most servers';
    return [{ area: what, status: 'error', message: `${label}: ${r.text}`, fix }];
  }
  if (ids.includes(model))
    return [{ area: what, status: 'ok', message: `${label}: reachable, model available` }];
  const some = ids.slice(0, 8).join(', ') || 'none';
  return [
    {
      area: what,
      status: 'warn',
      message: `${label}: reachable, but "${model}" is not in its model list (it lists: ${some}${ids.length > 8 ? ', …' : ''})`,
      fix: isOpenAI(baseURL)
        ? `check the model name (${what === 'refiner' ? 'REFINER_MODEL' : 'IMAGE_MODEL'})`
        : `pull or load the model on the server (Ollama: "ollama pull ${model}"), or set ${what === 'refiner' ? 'REFINER_MODEL' : 'IMAGE_MODEL'} to one it lists`,
    },
  ];
}

async function refinerChecks(config: Config, timeoutMs: number): Promise<Check[]> {
  if (config.REFINER === 'rules') {
    return [
      {
        area: 'refiner',
        status: 'ok',
        message: 'rules (offline scene-grammar merger; no setup). For photos and artwork, set REFINER=openai',
      },
    ];
  }
  const checks = await checkOpenAIModels(
    'refiner',
    config.OPENAI_BASE_URL ?? OPENAI_DEFAULT,
    config.OPENAI_API_KEY,
    config.REFINER_MODEL,
    timeoutMs,
    'OPENAI_API_KEY',
  );
  checks.push({
    area: 'refiner',
    status: 'info',
    message: `temperature ${config.REFINER_TEMPERATURE}, top-p ${config.REFINER_TOP_P}, max ${config.REFINER_MAX_TOKENS} tokens, JSON mode ${config.REFINER_JSON_MODE}; on failure the rule refiner answers, with a note in the round`,
  });
  return checks;
}

async function generatorChecks(
  config: Config,
  prices: ReturnType<typeof priceTable>,
  timeoutMs: number,
): Promise<Check[]> {
  if (config.GENERATOR === 'sketch') {
    return [
      {
        area: 'generator',
        status: 'ok',
        message:
          'sketch (offline scene renderer; no setup). For photos and artwork, set GENERATOR=replicate or openai-images',
      },
    ];
  }
  if (config.GENERATOR === 'openai-images') {
    const checks = await checkOpenAIModels(
      'generator',
      config.IMAGE_BASE_URL ?? config.OPENAI_BASE_URL ?? OPENAI_DEFAULT,
      config.OPENAI_API_KEY,
      config.IMAGE_MODEL,
      timeoutMs,
      'OPENAI_API_KEY',
    );
    const cost = imageCost(prices, config.IMAGE_MODEL, 1, config.IMAGE_QUALITY);
    checks.push(costCheck(config.IMAGE_MODEL, cost));
    return checks;
  }
  const model = config.REPLICATE_MODEL;
  const label = `replicate ${model}`;
  if (!config.REPLICATE_API_TOKEN) {
    return [
      {
        area: 'generator',
        status: 'error',
        message: `${label}: REPLICATE_API_TOKEN is not set`,
        fix: 'create a token at https://replicate.com/account/api-tokens and set REPLICATE_API_TOKEN',
      },
    ];
  }
  const client = new Replicate({
    auth: config.REPLICATE_API_TOKEN,
    userAgent: 'genir-chat-doctor',
    ...(config.REPLICATE_BASE_URL ? { baseUrl: config.REPLICATE_BASE_URL } : {}),
  });
  const checks: Check[] = [];
  try {
    const account = await client.accounts.current({ signal: AbortSignal.timeout(timeoutMs) });
    checks.push({ area: 'generator', status: 'ok', message: `${label}: signed in as ${account.username}` });
  } catch (err) {
    const r = reason('replicate', err);
    return [
      {
        area: 'generator',
        status: 'error',
        message: `${label}: ${r.text}`,
        fix:
          r.status === 401
            ? 'the token was rejected: create a new one at https://replicate.com/account/api-tokens'
            : r.network
              ? 'check the network (or REPLICATE_BASE_URL)'
              : 'try again later; see https://replicate.com/status',
      },
    ];
  }
  const [owner, name] = (model.split(':')[0] as string).split('/') as [string, string];
  try {
    await client.models.get(owner, name, { signal: AbortSignal.timeout(timeoutMs) });
    checks.push({ area: 'generator', status: 'ok', message: `${label}: model found` });
  } catch (err) {
    const r = reason('replicate', err);
    checks.push({
      area: 'generator',
      status: 'error',
      message: `${label}: ${r.status === 404 ? 'no such model' : r.text}`,
      fix: 'set REPLICATE_MODEL to owner/name as shown on its replicate.com page (e.g. black-forest-labs/flux-schnell)',
    });
  }
  checks.push(costCheck(model, imageCost(prices, model, 1)));
  return checks;
}

function costCheck(model: string, cost: number | undefined): Check {
  return cost === undefined
    ? {
        area: 'generator',
        status: 'info',
        message: `no price known for ${model}: rounds record no cost estimate`,
        fix: `add it to MODEL_PRICES, e.g. {"${model}": {"perImage": 0.01}}`,
      }
    : { area: 'generator', status: 'info', message: `estimated $${cost} per image (MODEL_PRICES overrides)` };
}

async function encoderChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  const configPath = config.ENCODER_CONFIG ?? defaultConfigPath(config.ENCODER_MODEL);
  const fetchFix =
    'run "genir models fetch clip-vit-base-patch32" and use the lines it prints, or unset ENCODER_MODEL for the built-in tiny encoder';
  if (!(await exists(config.ENCODER_MODEL))) {
    return [
      {
        area: 'encoder',
        status: 'error',
        message: `ENCODER_MODEL ${config.ENCODER_MODEL} is missing`,
        fix: fetchFix,
      },
    ];
  }
  if (!(await exists(configPath))) {
    return [
      { area: 'encoder', status: 'error', message: `encoder config ${configPath} is missing`, fix: fetchFix },
    ];
  }
  if (config.ENCODER_TEXT_MODEL && !(await exists(config.ENCODER_TEXT_MODEL))) {
    return [
      {
        area: 'encoder',
        status: 'error',
        message: `ENCODER_TEXT_MODEL ${config.ENCODER_TEXT_MODEL} is missing`,
        fix: fetchFix,
      },
    ];
  }
  const t0 = performance.now();
  try {
    const encoder = await loadEncoder(config, { text: true });
    const ms = Math.round(performance.now() - t0);
    const p = encoder.preprocessing;
    checks.push({
      area: 'encoder',
      status: 'ok',
      message: `${encoder.id} (${encoder.dim} dims, ${p.size} px ${p.resize}) from ${config.ENCODER_MODEL}${config.ENCODER_TEXT_MODEL ? ` + text model ${config.ENCODER_TEXT_MODEL}` : ''}: loaded and warmed in ${ms} ms`,
    });
    await encoder.close();
  } catch (err) {
    checks.push({
      area: 'encoder',
      status: 'error',
      message: `cannot load the encoder: ${(err as Error).message}`,
      fix: 'check ENCODER_MODEL / ENCODER_CONFIG / ENCODER_TEXT_MODEL / ENCODER_TOKENIZER, or fetch the model again',
    });
    return checks;
  }
  if (!config.ENCODER_TEXT_MODEL) {
    checks.push(
      config.TEXT_WEIGHT > 0
        ? {
            area: 'encoder',
            status: 'warn',
            message: `TEXT_WEIGHT=${config.TEXT_WEIGHT} but there is no text model: rounds use the image vector only`,
            fix: 'set ENCODER_TEXT_MODEL (genir models fetch prints it) or TEXT_WEIGHT=0',
          }
        : {
            area: 'encoder',
            status: 'info',
            message: "no text model: when a drawing fails, the round reuses the previous round's picture",
          },
    );
  }
  return checks;
}

function limitChecks(config: Config): Check[] {
  return [
    {
      area: 'limits',
      status: 'info',
      message:
        `per provider: ${config.PROVIDER_MAX_CONCURRENT} calls at once, ${config.PROVIDER_PER_MINUTE ? `${config.PROVIDER_PER_MINUTE} per minute` : 'no per-minute limit'}, ` +
        `${config.PROVIDER_TIMEOUT_MS} ms per attempt, ${config.PROVIDER_RETRIES} retries; rounds: refine ${config.REFINE_TIMEOUT_MS} ms, ` +
        `draw ${config.GENERATE_TIMEOUT_MS} ms, ${config.ROUNDS_PER_USER_PER_MINUTE || 'unlimited'} per person per minute`,
    },
  ];
}

async function dataChecks(config: Config): Promise<Check[]> {
  try {
    await mkdir(config.DATA_DIR, { recursive: true });
    await access(config.DATA_DIR, constants.W_OK);
    return [{ area: 'data', status: 'ok', message: `DATA_DIR ${config.DATA_DIR} is writable` }];
  } catch (err) {
    return [
      {
        area: 'data',
        status: 'error',
        message: `DATA_DIR ${config.DATA_DIR} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        fix: 'set DATA_DIR to a folder this user can write',
      },
    ];
  }
}

export async function runDoctor(config: Config, options: DoctorOptions = {}): Promise<Check[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const [refiner, generator, encoder, data] = await Promise.all([
    refinerChecks(config, timeoutMs),
    generatorChecks(config, priceTable(config.MODEL_PRICES), timeoutMs),
    encoderChecks(config),
    dataChecks(config),
  ]);
  return [...refiner, ...generator, ...encoder, ...limitChecks(config), ...data];
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', error: '✗', info: '·' };

export function formatDoctor(checks: Check[]): string {
  const lines = ['genir doctor: what this bot uses, and what needs attention', ''];
  for (const c of checks) {
    lines.push(`  ${MARK[c.status]} ${c.area.padEnd(9)} ${c.message}`);
    if (c.fix && c.status !== 'ok') lines.push(`  ${' '.repeat(12)}fix: ${c.fix}`);
  }
  const errors = checks.filter((c) => c.status === 'error').length;
  const warnings = checks.filter((c) => c.status === 'warn').length;
  lines.push('');
  lines.push(
    errors + warnings === 0
      ? 'All set.'
      : `${errors} problem${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`,
  );
  return lines.join('\n');
}

/** The CLI command: prints the report; exit code 1 when something is broken. */
export async function doctorCommand(
  config: Config,
  out: (text: string) => void = console.log,
): Promise<number> {
  const checks = await runDoctor(config);
  out(formatDoctor(checks));
  return checks.some((c) => c.status === 'error') ? 1 : 0;
}
