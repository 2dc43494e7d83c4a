import { progressBar } from '../adapters/progress/index.ts';
import type { ChatFrontEnd } from '../core/ports.ts';
import { ConfigError, loadConfig } from './config.ts';
import { configuredFrontEnds, FALLBACK, startFrontEnd } from './front-ends.ts';
import { buildRuntime } from './runtime.ts';

/**
 * `npm start`: the Discord and/or Slack bots when their credentials are set; otherwise the local
 * web playground, on the offline demo gallery unless other providers are configured.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const factories = configuredFrontEnds(config);
  const rt = await buildRuntime(config, { progress: progressBar('demo gallery'), log: console.error });
  const running: ChatFrontEnd[] = [];
  const stopAll = async () => {
    for (const fe of running)
      await fe.stop().catch((err: unknown) => rt.logger.error({ err }, `${fe.name} stop`));
    await rt.close();
  };
  const exit = () => void stopAll().finally(() => process.exit(0));
  process.once('SIGINT', exit);
  process.once('SIGTERM', exit);
  try {
    for (const factory of factories) {
      const frontEnd = await startFrontEnd(factory, rt);
      running.push(frontEnd);
      console.log(factory.describe(frontEnd));
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  rt.adoptLeftBehind(running);
  if (factories.includes(FALLBACK)) {
    console.log(
      'No Discord or Slack credentials are set; see README for the bots, or `npx genir chat` for the terminal.',
    );
  }
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : `genir-chat could not start: ${(err as Error).message}`,
  );
  process.exit(1);
});
