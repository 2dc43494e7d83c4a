import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, required } from '../../bots/config.ts';

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
      { TOP_K: '5', SEEN_EXCLUSION: 'off', ADMIN_USER_IDS: ' slack:T1:U1, web:u2 ,', DATA_DIR: '' },
      { dotenv: false },
    );
    expect(config.TOP_K).toBe(5);
    expect(config.SEEN_EXCLUSION).toBe(false);
    expect(config.ADMIN_USER_IDS).toEqual(['slack:T1:U1', 'web:u2']);
    expect(config.DATA_DIR).toBe('data');
  });

  it('takes admins only as platform-qualified ids, so no id is an admin on every platform', () => {
    const ok = { ADMIN_USER_IDS: 'slack:T0123:U0456,discord:123456789012345678:234567890123456789' };
    expect(loadConfig(ok, { dotenv: false }).ADMIN_USER_IDS).toHaveLength(2);
    for (const bare of ['U0456', 'discord:234567890123456789', 'slack:U0456'])
      expect(() => loadConfig({ ADMIN_USER_IDS: bare }, { dotenv: false })).toThrow(/platform-qualified/);
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

  describe('rules between variables', () => {
    const load = (env: Record<string, string>) => () => loadConfig(env, { dotenv: false });
    const message = (env: Record<string, string>) => {
      try {
        load(env)();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error(`expected ${JSON.stringify(env)} to be refused`);
    };

    it.each([
      [
        { REFINER: 'openai' },
        '  OPENAI_API_KEY: REFINER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server such as Ollama)',
      ],
      [{ GENERATOR: 'replicate' }, '  REPLICATE_API_TOKEN: GENERATOR=replicate needs REPLICATE_API_TOKEN'],
      [
        { SLACK_BOT_TOKEN: 'xoxb-1' },
        '  SLACK_APP_TOKEN: Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET',
      ],
      [
        { DISCORD_TOKEN: 'x'.repeat(60) },
        '  DISCORD_APPLICATION_ID: Discord needs DISCORD_APPLICATION_ID next to DISCORD_TOKEN',
      ],
      [
        { GENERATOR: 'openai-images' },
        '  OPENAI_API_KEY: GENERATOR=openai-images needs OPENAI_API_KEY (or IMAGE_BASE_URL for a compatible server)',
      ],
      [
        { VECTOR_INDEX: 'pinecone', PINECONE_INDEX: 'gallery' },
        '  PINECONE_API_KEY: VECTOR_INDEX=pinecone needs PINECONE_API_KEY',
      ],
      [
        { VECTOR_INDEX: 'pinecone', PINECONE_API_KEY: 'pc-key' },
        '  PINECONE_INDEX: VECTOR_INDEX=pinecone needs PINECONE_INDEX',
      ],
      [{ STATE_STORE: 'postgres' }, '  DATABASE_URL: STATE_STORE=postgres needs DATABASE_URL'],
      [
        { STATE_STORE: 'postgres', DATABASE_URL: 'mysql://db/x' },
        '  DATABASE_URL: must be a postgres:// (or postgresql://) connection URL',
      ],
    ])('%j stops with the variable it needs', (env, line) => {
      const text = message(env);
      expect(text).toContain(line);
      expect(text).toContain('.env.example');
    });

    describe('Slack: one workspace token or OAuth installs', () => {
      const oauth = {
        SLACK_CLIENT_ID: '1111111111.2222222222',
        SLACK_CLIENT_SECRET: 'client-secret-0123',
        SLACK_STATE_SECRET: 'state-secret-0123456789',
        SLACK_SIGNING_SECRET: 'signing-secret-0123',
      };

      it('accepts OAuth mode with its four variables', () => {
        expect(load(oauth)()).toMatchObject({ SLACK_CLIENT_ID: oauth.SLACK_CLIENT_ID });
      });

      it.each(Object.keys(oauth))('names %s when OAuth mode lacks it', (name) => {
        const text = message(Object.fromEntries(Object.entries(oauth).filter(([k]) => k !== name)));
        expect(text).toContain(`  ${name}: Slack OAuth mode needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET`);
      });

      it('refuses a bot token or an app token next to OAuth mode, saying which to remove', () => {
        expect(message({ ...oauth, SLACK_BOT_TOKEN: 'xoxb-1' })).toContain(
          '  SLACK_BOT_TOKEN: Slack runs either with one workspace token (SLACK_BOT_TOKEN) or as an app',
        );
        expect(message({ ...oauth, SLACK_APP_TOKEN: 'xapp-1' })).toContain(
          '  SLACK_APP_TOKEN: Slack OAuth mode serves the install pages and events over HTTP',
        );
      });

      it('checks the format of the client id and the length of the state secret', () => {
        expect(message({ ...oauth, SLACK_CLIENT_ID: 'abc' })).toContain('SLACK_CLIENT_ID: looks like');
        expect(message({ ...oauth, SLACK_STATE_SECRET: 'short' })).toContain(
          'SLACK_STATE_SECRET: must be at least 16 characters',
        );
      });
    });

    it('reports every broken rule at once', () => {
      const text = message({ REFINER: 'openai', GENERATOR: 'replicate', VECTOR_INDEX: 'pinecone' });
      for (const name of ['OPENAI_API_KEY', 'REPLICATE_API_TOKEN', 'PINECONE_API_KEY', 'PINECONE_INDEX'])
        expect(text).toContain(`  ${name}: `);
    });

    it('accepts each alternative a rule allows', () => {
      expect(load({ REFINER: 'openai', OPENAI_API_KEY: 'sk-1' })).not.toThrow();
      expect(load({ REFINER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' })).not.toThrow();
      expect(load({ GENERATOR: 'replicate', REPLICATE_API_TOKEN: 'r8_x' })).not.toThrow();
      expect(load({ GENERATOR: 'openai-images', OPENAI_API_KEY: 'sk-1' })).not.toThrow();
      expect(load({ GENERATOR: 'openai-images', IMAGE_BASE_URL: 'http://127.0.0.1:9/v1' })).not.toThrow();
      expect(load({ GENERATOR: 'openai-images', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' })).not.toThrow();
      expect(
        load({ VECTOR_INDEX: 'pinecone', PINECONE_API_KEY: 'pc-key', PINECONE_INDEX: 'gallery' }),
      ).not.toThrow();
    });

    it('treats a blank variable as unset', () => {
      expect(message({ GENERATOR: 'replicate', REPLICATE_API_TOKEN: '' })).toContain('REPLICATE_API_TOKEN');
    });

    it('lenient: each variable checked, the rules left to the caller (genir doctor)', () => {
      const config = loadConfig(
        { REFINER: 'openai', GENERATOR: 'replicate' },
        { dotenv: false, lenient: true },
      );
      expect(config).toMatchObject({ REFINER: 'openai', GENERATOR: 'replicate' });
      expect(() => loadConfig({ TOP_K: 'ten' }, { dotenv: false, lenient: true })).toThrow(/TOP_K/);
    });

    it('required(): a value the rules guarantee, or a ConfigError naming it in a hand-built config', () => {
      const ok = loadConfig({ GENERATOR: 'replicate', REPLICATE_API_TOKEN: 'r8_x' }, { dotenv: false });
      expect(required(ok, 'REPLICATE_API_TOKEN')).toBe('r8_x');
      const handBuilt = { ...loadConfig({}, { dotenv: false }), GENERATOR: 'replicate' as const };
      expect(() => required(handBuilt, 'REPLICATE_API_TOKEN')).toThrow(ConfigError);
      expect(() => required(handBuilt, 'REPLICATE_API_TOKEN')).toThrow(/ {2}REPLICATE_API_TOKEN: not set/);
    });
  });

  it('overrides (a command flag) win over the environment and meet the same rules', () => {
    const env = { VECTOR_INDEX: 'exact', PINECONE_INDEX: 'gallery' };
    expect(loadConfig(env, { dotenv: false, overrides: { VECTOR_INDEX: 'usearch' } }).VECTOR_INDEX).toBe(
      'usearch',
    );
    expect(() => loadConfig(env, { dotenv: false, overrides: { VECTOR_INDEX: 'pinecone' } })).toThrow(
      /PINECONE_API_KEY: VECTOR_INDEX=pinecone needs PINECONE_API_KEY/,
    );
  });

  describe('MODEL_PRICES', () => {
    it('parses into a price table', () => {
      const config = loadConfig(
        {
          MODEL_PRICES:
            '{"owner/model": {"perImage": 0.02}, "chat": {"inputPerMTok": 1, "outputPerMTok": 2}}',
        },
        { dotenv: false },
      );
      expect(config.MODEL_PRICES).toEqual({
        'owner/model': { perImage: 0.02 },
        chat: { inputPerMTok: 1, outputPerMTok: 2 },
      });
    });

    it('names the variable, the model and the field of a bad entry', () => {
      const bad = (value: string) => () => loadConfig({ MODEL_PRICES: value }, { dotenv: false });
      expect(bad('{"x/y": {"perImage": -1}}')).toThrow(/ {2}MODEL_PRICES\.x\/y\.perImage: /);
      expect(bad('{"x/y": {"per_image": 1}}')).toThrow(/ {2}MODEL_PRICES\.x\/y: .*per_image/);
      expect(bad('[1, 2]')).toThrow(/ {2}MODEL_PRICES: must be a JSON object/);
    });
  });
});
