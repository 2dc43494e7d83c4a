import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { redactingLogOptions, redactSecrets, redactText } from '../../bots/redact.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino(redactingLogOptions, stream), lines };
}

const SLACK = 'xoxb-1234567890-abcdefABCDEF';
const APP = 'xapp-1-A012-345-abcdef';
const DISCORD = `MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.${'a'.repeat(30)}`;

describe('secrets never reach the logs', () => {
  it('redacts secret-looking keys at any depth and in any case', () => {
    const out = redactSecrets({
      a: { b: { c: { token: SLACK, appToken: APP, signingSecret: 's3', AUTHORIZATION: 'x' } } },
      headers: [{ Authorization: 'Bearer abc', 'X-Api-Key': 'k' }],
      maxTokens: 12,
      key: 'slack:T1:C1:1.2',
    });
    expect(JSON.stringify(out)).not.toMatch(/xoxb|xapp|s3"|Bearer|"k"/);
    expect(out).toMatchObject({ maxTokens: 12, key: 'slack:T1:C1:1.2' });
  });

  it('redacts tokens, bearer headers and one-time URLs inside strings', () => {
    const text = [
      `token ${SLACK} and ${APP}`,
      'Authorization: Bearer eyJhbGciOi.abc.def',
      `discord ${DISCORD}`,
      'response_url https://hooks.slack.com/commands/T1/123/abc',
      'connecting to wss://wss-primary.slack.com/link/?ticket=abc-123&app_id=A1',
      'openai sk-proj-abcdefghijklmnop1234 replicate r8_abcdefghijklmnopqrstu1',
    ].join('\n');
    const out = redactText(text);
    for (const secret of [
      SLACK,
      APP,
      'eyJhbGciOi',
      DISCORD,
      'hooks.slack.com',
      'ticket=abc',
      'sk-proj',
      'r8_abc',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('discord [redacted]');
  });

  it('a pino logger with these options redacts objects, errors (message and stack) and messages', () => {
    const { logger, lines } = capture();
    const err = new Error(`Slack said invalid_auth for ${SLACK}`);
    logger.error({ err, deep: { x: { y: { authorization: `Bearer ${SLACK}` } } } }, `failed with ${APP}`);
    const line = lines.join('');
    expect(line).not.toContain('xoxb-');
    expect(line).not.toContain('xapp-');
    const parsed = JSON.parse(line);
    expect(parsed.msg).toBe('failed with [redacted]');
    expect(parsed.err.message).toBe('Slack said invalid_auth for [redacted]');
    expect(parsed.err.stack).toContain('Slack said invalid_auth for [redacted]');
  });
});
