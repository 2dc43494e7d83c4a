import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { checkFileOrigins, SLACK_FILE_ORIGINS } from '../adapters/chat/slack/file-origins.ts';
import { priceTableSchema } from '../adapters/providers/prices.ts';
import { ConfigError } from './config-error.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean),
);

/** A JSON object in a variable (REPLICATE_INPUT, MODEL_PRICES). */
const jsonObject = z.string().transform((text, ctx) => {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {}
  ctx.addIssue({ code: 'custom', message: 'must be a JSON object, e.g. {"key": "value"}' });
  return z.NEVER;
});

/** Every variable the bot reads; `.env.example` documents each one. */
const variables = z.object({
  DATA_DIR: z.string().min(1).default('data'),
  OUT_DIR: z.string().min(1).default('out'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),

  // State (docs/deploy.md): one SQLite file for one instance, or PostgreSQL shared by several.
  STATE_STORE: z.enum(['sqlite', 'postgres']).default('sqlite'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(?:ql)?:\/\//, 'must be a postgres:// (or postgresql://) connection URL')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /** How long a thread's lock outlives a crashed holder (PostgreSQL); rounds renew it while they run. */
  THREAD_LOCK_LEASE_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),

  DEMO_GALLERY_SIZE: z.coerce.number().int().min(10).max(1_000_000).default(2000),
  DEMO_GALLERY_SEED: z.coerce.number().int().default(1),

  REFINER: z.enum(['rules', 'openai']).default('rules'),
  GENERATOR: z.enum(['sketch', 'replicate', 'openai-images']).default('sketch'),
  ENCODER_MODEL: z.string().min(1).default('models/tiny-encoder.onnx'),
  ENCODER_CONFIG: z.string().optional(),
  ENCODER_THREADS: z.coerce.number().int().min(0).max(64).default(0),
  ENCODER_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
  VECTOR_INDEX: z.enum(['exact', 'usearch', 'pinecone']).default('exact'),
  // Gallery and indexes (docs/indexing.md).
  GALLERY: z.string().min(1).default('demo'),
  USEARCH_DTYPE: z.enum(['f16', 'i8', 'f32']).default('f16'),
  USEARCH_EXPANSION_SEARCH: z.coerce.number().int().min(1).max(4096).default(192),
  EXACT_BELOW: z.coerce.number().int().min(0).default(20_000),
  PINECONE_API_KEY: z.string().min(1).optional(),
  PINECONE_INDEX: z
    .string()
    .regex(/^[a-z0-9-]{1,45}$/, 'lowercase letters, digits and hyphens, at most 45 characters')
    .optional(),
  PINECONE_NAMESPACE: z.string().min(1).max(512).optional(),
  PINECONE_HOST: z.string().min(1).optional(),
  PINECONE_CONTROLLER_URL: z.url().optional(),
  PINECONE_CREATE_INDEX: bool.default(false),
  PINECONE_CLOUD: z.string().min(1).default('aws'),
  PINECONE_REGION: z.string().min(1).default('us-east-1'),

  // When to draw (docs/eval.md, "Routing"): every round, never unasked, a rule, or a trained model.
  ROUTER: z.enum(['always', 'never', 'heuristic', 'learned']).default('always'),
  ROUTER_MODEL: z.string().min(1).default('models/router-v1.json'),
  DRAWING_BUDGET: z.coerce.number().int().min(1).optional(),
  STAGNATION_COSINE: z.coerce.number().min(0).max(1).default(0.96),
  TOP_K: z.coerce.number().int().min(1).max(25).default(10),
  SEEN_EXCLUSION: bool.default(true),
  TEXT_WEIGHT: z.coerce.number().min(0).max(1).default(0),
  FEEDBACK_POSITIVE_WEIGHT: z.coerce.number().min(0).max(5).default(0.7),
  FEEDBACK_NEGATIVE_WEIGHT: z.coerce.number().min(0).max(5).default(0.3),
  MAX_MESSAGE_CHARS: z.coerce.number().int().min(50).max(20_000).default(2000),
  REFINE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  GENERATE_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  USER_HASH_SALT: z.string().default('genir-chat'),
  ROUNDS_PER_USER_PER_MINUTE: z.coerce.number().int().min(0).default(20),
  ROUNDS_PER_WORKSPACE_PER_MINUTE: z.coerce.number().int().min(0).default(120),

  TRANSCRIPTS: z.enum(['off', 'opt-in', 'on']).default('opt-in'),
  TRANSCRIPT_RETENTION_DAYS: z.coerce.number().int().min(0).default(0),
  // Platform-qualified (core/tenant.ts): an admin of one tenant is nobody in another.
  ADMIN_USER_IDS: commaList
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^(?:slack:[^:]+:[^:]+|discord:\d{17,20}:\d{17,20}|web:[^:]+|terminal:[^:]+)$/,
            'each id is platform-qualified: slack:<team>:<user>, discord:<guild>:<user>, web:<id> or terminal:<id> (docs/slack.md, docs/discord.md)',
          ),
      ),
    )
    .default([]),
  /** Days a Slack workspace that uninstalled the app, or a Discord guild that removed the bot, keeps its data. */
  TENANT_GRACE_DAYS: z.coerce.number().int().min(0).max(3650).default(30),

  WEB_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  WEB_HOST: z.string().min(1).default('127.0.0.1'),
  // Who a browser is (adapters/chat/web/session.ts, docs/web.md).
  WEB_AUTH: z.enum(['none', 'token', 'header']).default('none'),
  WEB_TOKEN: z.string().min(12, 'use at least 12 characters').optional(),
  WEB_ADMIN_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  WEB_AUTH_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name, e.g. X-Forwarded-User')
    .default('X-Forwarded-User'),
  WEB_SESSION_SECRET: z.string().min(32, 'use at least 32 characters').optional(),
  WEB_COOKIE_SECURE: bool.default(false),

  // Slack (bots/slack.ts, docs/slack.md): the bot token, plus the app token (Socket Mode) or the signing secret (HTTP).
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-…)').optional(),
  SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
  SLACK_SIGNING_SECRET: z.string().min(8, 'looks too short for a signing secret').optional(),
  // OAuth mode (a distributable app installed by many workspaces at /slack/install) instead of SLACK_BOT_TOKEN.
  SLACK_CLIENT_ID: z
    .string()
    .regex(/^\d+\.\d+$/, 'looks like 1234567890.1234567890 (Basic Information → App Credentials)')
    .optional(),
  SLACK_CLIENT_SECRET: z.string().min(8, 'looks too short for a client secret').optional(),
  SLACK_STATE_SECRET: z
    .string()
    .min(16, 'must be at least 16 characters: it signs the install links (e.g. openssl rand -hex 32)')
    .optional(),
  SLACK_PORT: z.coerce.number().int().min(0).max(65_535).default(3001),
  SLACK_API_URL: z.url().optional(),
  /** Origins the bot token may be sent to when downloading people's files. */
  SLACK_FILE_ORIGINS: commaList.default(SLACK_FILE_ORIGINS).superRefine((origins, ctx) => {
    try {
      checkFileOrigins(origins);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),

  // Discord (bots/discord.ts, docs/discord.md): the bot starts when DISCORD_TOKEN and DISCORD_APPLICATION_ID are set.
  DISCORD_TOKEN: z
    .string()
    .min(50, 'looks too short for a bot token (Bot page of the Developer Portal)')
    .optional(),
  DISCORD_APPLICATION_ID: z
    .string()
    .regex(/^\d{17,20}$/, 'must be the numeric application id')
    .optional(),
  DISCORD_ALLOWED_CHANNELS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^\d{17,20}$/, 'must be numeric channel ids, comma-separated')))
    .default([]),
  DISCORD_API_URL: z.url().optional(),
  /** Gateway shards of the whole bot, across instances: "auto" (Discord's recommendation) or a count. */
  DISCORD_SHARDS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(10_000)]).optional(),
  /** The shards this instance runs (comma-separated ids below DISCORD_SHARDS); default: all of them. */
  DISCORD_SHARD_IDS: commaList
    .pipe(z.array(z.string().regex(/^\d{1,5}$/, 'must be shard ids (0, 1, …), comma-separated')))
    .transform((ids) => ids.map(Number))
    .optional(),
  // Real providers (adapters/refine/openai, adapters/generate/{replicate,openai}, docs/providers.md).
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  REFINER_MODEL: z.string().min(1).default('gpt-4o-mini'),
  REFINER_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
  REFINER_TOP_P: z.coerce.number().min(0).max(1).default(0.9),
  REFINER_MAX_TOKENS: z.coerce.number().int().min(16).max(8192).default(500),
  REFINER_JSON_MODE: z.enum(['auto', 'json-schema', 'json-object', 'prompt']).default('auto'),
  REPLICATE_API_TOKEN: z.string().min(1).optional(),
  REPLICATE_MODEL: z
    .string()
    .regex(/^[\w.-]+\/[\w.-]+(?::[0-9a-f]{8,})?$/i, 'must be owner/name or owner/name:version')
    .default('black-forest-labs/flux-schnell'),
  REPLICATE_INPUT: jsonObject.default({}),
  REPLICATE_BASE_URL: z.url().optional(),
  REPLICATE_WAIT_SECONDS: z.coerce.number().int().min(1).max(60).default(30),
  IMAGE_MODEL: z.string().min(1).default('gpt-image-1'),
  IMAGE_BASE_URL: z.url().optional(),
  IMAGE_SIZE: z
    .string()
    .regex(/^(?:\d{2,5}x\d{2,5}|auto)$/, 'must be WIDTHxHEIGHT, e.g. 1024x1024')
    .default('1024x1024'),
  IMAGE_QUALITY: z.string().min(1).optional(),
  IMAGE_STEPS: z.coerce.number().int().min(1).max(500).optional(),
  IMAGE_GUIDANCE: z.coerce.number().min(0).max(50).optional(),
  IMAGE_MAX_BYTES: z.coerce.number().int().min(10_000).default(20_000_000),
  ENCODER_TEXT_MODEL: z.string().min(1).optional(),
  ENCODER_TOKENIZER: z.string().min(1).optional(),
  PROVIDER_MAX_CONCURRENT: z.coerce.number().int().min(1).max(64).default(4),
  PROVIDER_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  PROVIDER_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  MODEL_PRICES: jsonObject.pipe(priceTableSchema).default({}),
  MODELS_DIR: z.string().min(1).default('models'),
  HF_ENDPOINT: z.url().default('https://huggingface.co'),
  HF_TOKEN: z.string().min(1).optional(),
});

export type Config = z.infer<typeof variables>;

type Variable = keyof Config;

/**
 * A setting that needs another variable: `when` holds, so one of `anyOf` must be set. A rule with
 * an empty `anyOf` is a conflict: `when` alone is the error, reported on `path`.
 */
interface Rule {
  when: (config: Config) => boolean;
  anyOf: Variable[];
  path?: Variable;
  message: string;
}

const slackOAuth = (c: Config) =>
  c.SLACK_CLIENT_ID !== undefined ||
  c.SLACK_CLIENT_SECRET !== undefined ||
  c.SLACK_STATE_SECRET !== undefined;
const OAUTH_NEEDS =
  'Slack OAuth mode needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET and SLACK_SIGNING_SECRET';

/** The rules between variables (one variable's own format is checked in `variables`). */
const RULES: Rule[] = [
  {
    when: (c) => c.STATE_STORE === 'postgres',
    anyOf: ['DATABASE_URL'],
    message:
      'STATE_STORE=postgres needs DATABASE_URL (postgres://user:password@host:5432/db). See docs/deploy.md.',
  },
  {
    when: (c) => c.REFINER === 'openai',
    anyOf: ['OPENAI_API_KEY', 'OPENAI_BASE_URL'],
    message:
      'REFINER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server such as Ollama). See docs/providers.md.',
  },
  {
    when: (c) => c.GENERATOR === 'replicate',
    anyOf: ['REPLICATE_API_TOKEN'],
    message: 'GENERATOR=replicate needs REPLICATE_API_TOKEN. See docs/providers.md.',
  },
  {
    when: (c) => c.GENERATOR === 'openai-images',
    anyOf: ['OPENAI_API_KEY', 'IMAGE_BASE_URL', 'OPENAI_BASE_URL'],
    message:
      'GENERATOR=openai-images needs OPENAI_API_KEY (or IMAGE_BASE_URL for a compatible server). See docs/providers.md.',
  },
  {
    when: (c) => c.SLACK_BOT_TOKEN !== undefined,
    anyOf: ['SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET'],
    message:
      'Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) next to SLACK_BOT_TOKEN; see docs/slack.md.',
  },
  ...(['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET', 'SLACK_SIGNING_SECRET'] as const).map(
    (name): Rule => ({
      when: slackOAuth,
      anyOf: [name],
      message: `${OAUTH_NEEDS}; ${name} is missing. See docs/slack.md.`,
    }),
  ),
  {
    when: (c) => slackOAuth(c) && c.SLACK_BOT_TOKEN !== undefined,
    anyOf: [],
    path: 'SLACK_BOT_TOKEN',
    message:
      'Slack runs either with one workspace token (SLACK_BOT_TOKEN) or as an app workspaces install through OAuth (SLACK_CLIENT_ID…), not both: remove one. See docs/slack.md.',
  },
  {
    when: (c) => slackOAuth(c) && c.SLACK_APP_TOKEN !== undefined,
    anyOf: [],
    path: 'SLACK_APP_TOKEN',
    message:
      'Slack OAuth mode serves the install pages and events over HTTP (SLACK_SIGNING_SECRET, SLACK_PORT); remove SLACK_APP_TOKEN (Socket Mode is for one workspace). See docs/slack.md.',
  },
  {
    when: (c) => c.DISCORD_TOKEN !== undefined,
    anyOf: ['DISCORD_APPLICATION_ID'],
    message: 'Discord needs DISCORD_APPLICATION_ID next to DISCORD_TOKEN; see docs/discord.md.',
  },
  {
    when: (c) => c.WEB_AUTH === 'token',
    anyOf: ['WEB_TOKEN'],
    message:
      'WEB_AUTH=token needs WEB_TOKEN, the access token people enter once in the page. See docs/web.md.',
  },
  {
    when: (c) => c.VECTOR_INDEX === 'pinecone',
    anyOf: ['PINECONE_API_KEY'],
    message: 'VECTOR_INDEX=pinecone needs PINECONE_API_KEY. See docs/indexing.md.',
  },
  {
    when: (c) => c.VECTOR_INDEX === 'pinecone',
    anyOf: ['PINECONE_INDEX'],
    message: 'VECTOR_INDEX=pinecone needs PINECONE_INDEX (the index name). See docs/indexing.md.',
  },
];

const schema = variables.superRefine((config, ctx) => {
  for (const rule of RULES) {
    if (rule.when(config) && rule.anyOf.every((name) => config[name] === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [(rule.anyOf[0] ?? rule.path) as Variable],
        message: rule.message,
      });
    }
  }
  const { DISCORD_SHARDS: total, DISCORD_SHARD_IDS: ids } = config;
  if (ids && typeof total !== 'number') {
    ctx.addIssue({
      code: 'custom',
      path: ['DISCORD_SHARD_IDS'],
      message:
        'DISCORD_SHARD_IDS needs DISCORD_SHARDS set to the total number of shards across instances (not auto).',
    });
  } else if (ids && typeof total === 'number' && ids.some((id) => id >= total)) {
    ctx.addIssue({
      code: 'custom',
      path: ['DISCORD_SHARD_IDS'],
      message: `every shard id must be below DISCORD_SHARDS (${total}): ids run from 0 to ${total - 1}.`,
    });
  }
});

export { ConfigError };

const invalid = (lines: string[]) =>
  new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nSee .env.example for every variable.`);

export interface LoadConfigOptions {
  /** Read `.env` too (default: when reading process.env). */
  dotenv?: boolean;
  /** Check each variable but not the rules between them (`genir doctor` reports those itself). */
  lenient?: boolean;
  /** Values that win over the environment (a command's flags), checked the same way. */
  overrides?: Record<string, string>;
}

/** Reads the environment (and `.env` unless told not to); a bad value names its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  if (options.dotenv ?? env === process.env) loadDotenv({ quiet: true });
  const blankAsUnset = Object.fromEntries(
    Object.entries({ ...env, ...options.overrides }).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = (options.lenient ? variables : schema).safeParse(blankAsUnset);
  if (!parsed.success) throw invalid(parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}

/**
 * A variable the rules require in this configuration, for code that needs it as a value. Only a
 * configuration assembled in code, not read by loadConfig, can lack it.
 */
export function required<K extends Variable>(config: Config, name: K): NonNullable<Config[K]> {
  const value = config[name];
  if (value === undefined) throw invalid([`  ${name}: not set`]);
  return value as NonNullable<Config[K]>;
}
