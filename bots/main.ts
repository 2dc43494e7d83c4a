import { TerminalChat } from '../adapters/chat/terminal/adapter.ts';
import { progressBar } from '../scripts/progress.ts';
import { ConfigError, loadConfig } from './config.ts';
import { buildRuntime } from './runtime.ts';

/** `npm start`: with no chat platform configured, the terminal chat on the offline demo gallery. */
async function main(): Promise<void> {
  const config = loadConfig();
  const rt = await buildRuntime(config, { progress: progressBar('demo gallery'), log: console.error });
  const chat = new TerminalChat(rt.engine, { input: process.stdin, output: process.stdout, outDir: config.OUT_DIR });
  const stop = async () => {
    await rt.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await chat.run();
  await rt.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : `genir-chat could not start: ${(err as Error).message}`);
  process.exit(1);
});
