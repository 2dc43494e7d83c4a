import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../bots/config.ts';

describe('configuration', () => {
  it('works with nothing set: the offline defaults', () => {
    const config = loadConfig({}, { dotenv: false });
    expect(config).toMatchObject({
      DATA_DIR: 'data',
      REFINER: 'rules',
      GENERATOR: 'sketch',
      TOP_K: 10,
      TRANSCRIPTS: 'opt-in',
    });
    expect(config.SEEN_EXCLUSION).toBe(true);
  });

  it('parses numbers, booleans and lists, and treats blank values as unset', () => {
    const config = loadConfig(
      { TOP_K: '5', SEEN_EXCLUSION: 'off', ADMIN_USER_IDS: ' U1, U2 ,', DATA_DIR: '' },
      { dotenv: false },
    );
    expect(config.TOP_K).toBe(5);
    expect(config.SEEN_EXCLUSION).toBe(false);
    expect(config.ADMIN_USER_IDS).toEqual(['U1', 'U2']);
    expect(config.DATA_DIR).toBe('data');
  });

  it('stops with a message naming every bad variable', () => {
    const bad = () =>
      loadConfig({ TOP_K: 'ten', TRANSCRIPTS: 'maybe', SEEN_EXCLUSION: 'sure' }, { dotenv: false });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      const text = (err as Error).message;
      for (const name of ['TOP_K', 'TRANSCRIPTS', 'SEEN_EXCLUSION']) expect(text).toContain(`  ${name}: `);
      expect(text).toContain('.env.example');
    }
  });

  it('never echoes a secret value in its error', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxp-secret-value' }, { dotenv: false })).toThrow(
      /SLACK_BOT_TOKEN: must be a bot token/,
    );
    try {
      loadConfig({ SLACK_BOT_TOKEN: 'xoxp-secret-value' }, { dotenv: false });
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-value');
    }
  });
});
