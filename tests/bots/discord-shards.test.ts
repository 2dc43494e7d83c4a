import { afterEach, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../adapters/chat/discord/adapter.ts';
import { ConfigError, loadConfig } from '../../bots/config.ts';
import { discordShardOptions } from '../../bots/discord.ts';
import { FakeDiscord } from '../fakes/discord/server.ts';
import { engineWorld } from '../support/engine-world.ts';

const config = (env: Record<string, string>) => loadConfig(env, { dotenv: false });

describe('Discord sharding (DISCORD_SHARDS, DISCORD_SHARD_IDS)', () => {
  it("maps to discord.js's own shards/shardCount options", () => {
    expect(discordShardOptions(config({}))).toEqual({});
    expect(discordShardOptions(config({ DISCORD_SHARDS: 'auto' }))).toEqual({ shards: 'auto' });
    expect(discordShardOptions(config({ DISCORD_SHARDS: '3' }))).toEqual({
      shards: [0, 1, 2],
      shardCount: 3,
    });
    expect(discordShardOptions(config({ DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: '1, 3' }))).toEqual({
      shards: [1, 3],
      shardCount: 4,
    });
  });

  it.each([
    [{ DISCORD_SHARD_IDS: '0' }, 'DISCORD_SHARD_IDS needs DISCORD_SHARDS set to the total'],
    [
      { DISCORD_SHARDS: 'auto', DISCORD_SHARD_IDS: '0' },
      'DISCORD_SHARD_IDS needs DISCORD_SHARDS set to the total',
    ],
    [{ DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: '0,2' }, 'every shard id must be below DISCORD_SHARDS (2)'],
    [{ DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: 'one' }, 'must be shard ids'],
    [{ DISCORD_SHARDS: 'many' }, 'DISCORD_SHARDS'],
  ])('%j stops with a message naming the variable', (env, text) => {
    expect(() => config(env)).toThrow(ConfigError);
    expect(() => config(env)).toThrow(text);
  });

  describe('against the fake gateway', () => {
    let fake: FakeDiscord | undefined;
    let adapter: DiscordAdapter | undefined;
    afterEach(async () => {
      await adapter?.stop();
      await fake?.close();
    });

    it('an instance owning shard 1 of 2 identifies as that shard', async () => {
      fake = await FakeDiscord.start();
      const world = await engineWorld();
      adapter = new DiscordAdapter(world.engine, {
        token: fake.token,
        applicationId: fake.applicationId,
        apiUrl: fake.apiUrl,
        clientOptions: discordShardOptions(config({ DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: '1' })),
      });
      await adapter.start();
      expect(fake.identifies.map((i) => i.shard)).toEqual([[1, 2]]);
    });
  });
});
