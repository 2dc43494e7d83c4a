import {
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  SlashCommandBuilder,
  SlashCommandSubcommandBuilder,
} from 'discord.js';
import { type ActionName, COMMANDS, type CommandSpec, commandSpec } from '../../../commands/index.ts';
import { truncate } from '../shared/text.ts';

/**
 * Discord's slash commands, built from the one command set in commands/index.ts:
 *   /find description:<text>      starts a search (a thread is created for it)
 *   /genir <command> [n]          every other command (pick, more, not, regen, undo, reset, keep,
 *                                 help), acting on the latest round of the thread it is used in;
 *                                 forget, status and export are about the person or the server and
 *                                 work in any channel.
 */
export const FIND_COMMAND = commandSpec('find').name;
export const GROUP_COMMAND = 'genir';

const DESCRIPTION_MAX = 100;
const desc = (text: string) => truncate(text, DESCRIPTION_MAX);

function argDescription(spec: CommandSpec): string {
  if (spec.arg?.kind === 'number') return desc('Match number, as shown on the contact sheet');
  return desc('Describe the image you remember');
}

export function slashCommands(): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const find = commandSpec('find');
  const findCommand = new SlashCommandBuilder()
    .setName(FIND_COMMAND)
    .setDescription(desc(find.help))
    .setContexts(InteractionContextType.Guild)
    .addStringOption((o) =>
      o
        .setName(find.arg?.name ?? 'description')
        .setDescription(argDescription(find))
        .setRequired(true),
    );

  const group = new SlashCommandBuilder()
    .setName(GROUP_COMMAND)
    .setDescription('Image search commands for the current thread')
    .setContexts(InteractionContextType.Guild);
  for (const spec of COMMANDS) {
    if (spec.action === 'find') continue;
    const sub = new SlashCommandSubcommandBuilder().setName(spec.name).setDescription(desc(spec.help));
    const arg = argOption(spec);
    if (arg?.kind === 'number') {
      sub.addIntegerOption((o) =>
        o.setName(arg.name).setDescription(argDescription(spec)).setRequired(true).setMinValue(1),
      );
    } else if (arg) {
      // Free-text arguments of other commands are optional refinements of the command (e.g. "forget user <id>").
      sub.addStringOption((o) =>
        o
          .setName(arg.name)
          .setDescription(desc(`${spec.arg?.name}`))
          .setRequired(false),
      );
    }
    group.addSubcommand(sub);
  }
  return [findCommand.toJSON(), group.toJSON()];
}

/** Discord option names are 1–32 lowercase letters, digits, "-" or "_"; the command set's may be prose. */
function argOption(spec: CommandSpec): { name: string; kind: 'number' | 'text' } | null {
  if (!spec.arg) return null;
  const slug = spec.arg.name
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_-]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  const valid = /^[\p{L}\p{N}_-]{1,32}$/u.test(slug) && slug === spec.arg.name;
  return { name: valid ? slug : spec.arg.kind === 'number' ? 'n' : 'text', kind: spec.arg.kind };
}

/** The engine action of a `/genir <sub>` command and the name of its option; null for an unknown one. */
export function groupAction(
  sub: string,
): { action: ActionName; arg?: { name: string; kind: 'number' | 'text' } } | null {
  const spec = COMMANDS.find((c) => c.name === sub && c.action !== 'find');
  if (!spec) return null;
  const arg = argOption(spec);
  return arg ? { action: spec.action as ActionName, arg } : { action: spec.action as ActionName };
}
