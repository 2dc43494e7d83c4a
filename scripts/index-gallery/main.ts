/**
 * `genir index` on its own: `tsx scripts/index-gallery/main.ts index <sources...> [options]`
 * (the genir CLI registers the same command).
 */
import { Command } from 'commander';
import { ConfigError } from '../../bots/config.ts';
import { registerIndexCommand } from './command.ts';

const program = new Command('genir').showHelpAfterError();
registerIndexCommand(program);
try {
  await program.parseAsync();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `genir: ${(err as Error).message}`);
  process.exitCode = 1;
}
