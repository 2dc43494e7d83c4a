import { progressBar } from '../scripts/progress.ts';
import { ConfigError, loadConfig } from './config.ts';
import { discordConfigured, startDiscordBot } from './discord.ts';
import { buildRuntime } from './runtime.ts';
import { slackConfigured, startSlackBot } from './slack.ts';
import { startWeb } from './web.ts';

/**
 * `npm start`: the Discord and/or Slack bots when their credentials are set; otherwise the local
 * web playground, on the offline demo gallery unless other providers are configured.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const rt = await buildRuntime(config, { progress: progressBar('demo gallery'), log: console.error });
  const running: { name: string; stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const r of running)
      await r.stop().catch((err: Error) => rt.logger.error({ err: err.message }, `${r.name} stop`));
    await rt.close();
    process.exit(0);
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  try {
    if (discordConfigured(config)) {
      running.push({ name: 'discord', ...(await startDiscordBot(rt.engine, config, rt.logger)) });
      console.log('GenIR is running on Discord (Ctrl+C to stop).');
    }
    if (slackConfigured(config)) {
      running.push({ name: 'slack', ...(await startSlackBot(rt.engine, config, rt.logger)) });
      console.log('GenIR is running on Slack (Ctrl+C to stop).');
    }
    if (running.length === 0) {
      const web = await startWeb(rt, config, rt.logger);
      running.push({ name: 'web', stop: web.stop });
      console.log(`GenIR is running at ${web.url} — open it in a browser (Ctrl+C to stop).`);
      console.log(
        'No Discord or Slack credentials are set; see README for the bots, or `npx genir chat` for the terminal.',
      );
    }
  } catch (err) {
    for (const r of running) await r.stop().catch(() => {});
    await rt.close();
    throw err;
  }
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : `genir-chat could not start: ${(err as Error).message}`,
  );
  process.exit(1);
});
