import pino from 'pino';

const CENSOR = '[redacted]';

/** Keys whose values are secrets, at any depth and in any case. */
const SECRET_KEY = /^(.*token|.*secret|authorization|.*api[-_]?key|password|cookie|set-cookie)$/i;

/** Secrets that show up inside messages: platform tokens, bearer headers, one-time URLs. */
const SECRET_TEXT: RegExp[] = [
  /\bxox[abposre]-[A-Za-z0-9-]+/g, // Slack bot, user, app-level and refresh tokens
  /\bxapp-[A-Za-z0-9-]+/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi,
  /\b(?:Bot|Basic)\s+[A-Za-z0-9._~+/=-]{20,}/g,
  /\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}/g, // Discord bot token
  /\bsk-[A-Za-z0-9_-]{16,}/g, // OpenAI-style keys
  /\br8_[A-Za-z0-9]{20,}/g, // Replicate
  /\bpcsk_[A-Za-z0-9_]{20,}/g, // Pinecone
  /https:\/\/hooks\.slack\.com\/[^\s"']+/g, // response_url / webhooks
  /wss?:\/\/[^\s"']*[?&]ticket=[^\s"'&]+/g, // Socket Mode connection URLs
];

export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_TEXT) out = out.replace(pattern, CENSOR);
  return out;
}

/**
 * A copy of a log object with secrets replaced at any depth: values under secret-looking keys,
 * and tokens inside strings. Errors become pino's serialized form first, so their message and
 * stack are redacted too.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) return redactSecrets(pino.stdSerializers.err(value), depth + 1);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null ? CENSOR : redactSecrets(v, depth + 1);
  }
  return out;
}

/** pino options that apply redactSecrets to every line's object and message. */
export const redactingLogOptions: pino.LoggerOptions = {
  formatters: { log: (obj) => redactSecrets(obj) as Record<string, unknown> },
  hooks: {
    logMethod(args, method) {
      method.apply(
        this,
        args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>,
      );
    },
  },
};
