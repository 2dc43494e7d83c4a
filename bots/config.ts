import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean),
);

/** Every variable the bot reads; `.env.example` documents each one. */
const schema = z.object({
  DATA_DIR: z.string().min(1).default('data'),
  OUT_DIR: z.string().min(1).default('out'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),

  DEMO_GALLERY_SIZE: z.coerce.number().int().min(10).max(1_000_000).default(2000),
  DEMO_GALLERY_SEED: z.coerce.number().int().default(1),

  REFINER: z.enum(['rules']).default('rules'),
  GENERATOR: z.enum(['sketch']).default('sketch'),
  ENCODER_MODEL: z.string().min(1).default('models/tiny-encoder.onnx'),
  ENCODER_CONFIG: z.string().optional(),
  ENCODER_THREADS: z.coerce.number().int().min(0).max(64).default(0),
  VECTOR_INDEX: z.enum(['exact']).default('exact'),

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
  ADMIN_USER_IDS: commaList.default([]),

  WEB_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  WEB_HOST: z.string().min(1).default('127.0.0.1'),

  // Slack (bots/slack.ts, docs/slack.md): the bot token, plus the app token (Socket Mode) or the signing secret (HTTP).
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-…)').optional(),
  SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
  SLACK_SIGNING_SECRET: z.string().min(8, 'looks too short for a signing secret').optional(),
  SLACK_PORT: z.coerce.number().int().min(0).max(65_535).default(3001),
  SLACK_API_URL: z.url().optional(),

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
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the environment (and `.env` unless told not to); a bad value names its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: { dotenv?: boolean } = {}): Config {
  if (options.dotenv ?? env === process.env) loadDotenv({ quiet: true });
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(blankAsUnset);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(
      `Invalid configuration:\n${lines.join('\n')}\nSee .env.example for every variable.`,
    );
  }
  return parsed.data;
}
