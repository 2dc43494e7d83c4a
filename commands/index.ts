/**
 * The one command set every front end uses: names, aliases, arguments, help text and typed-command
 * parsing. The ids buttons carry are core's (core/action-id.ts), re-exported here for front ends.
 */
import { type ActionName, LATEST } from '../core/action-id.ts';
import { isThreadless } from '../core/actions/index.ts';
import type { CommandSet, TypedCommand } from '../core/ports.ts';

export {
  type ActionName,
  type ActionRef,
  decodeActionId,
  encodeActionId,
  LATEST,
} from '../core/action-id.ts';
export type { TypedCommand } from '../core/ports.ts';
export { isThreadless };

export interface CommandSpec {
  action: ActionName | 'find';
  /** Typed name ("/pick 3"); aliases are accepted too. */
  name: string;
  aliases: string[];
  arg?: { name: string; kind: 'number' | 'text' };
  /** Short label for buttons and menus. */
  label: string;
  help: string;
  /** Only for the admins of the bot (ADMIN_USER_IDS). */
  admin?: boolean;
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    action: 'find',
    name: 'find',
    aliases: ['search', 'new'],
    arg: { name: 'description', kind: 'text' },
    label: 'New search',
    help: 'Start a new search from a description of the image you remember.',
  },
  {
    action: 'pick',
    name: 'pick',
    aliases: ['found', 'this'],
    arg: { name: 'n', kind: 'number' },
    label: "That's it",
    help: 'Match n is the image you meant: the search ends and the original is posted.',
  },
  {
    action: 'more',
    name: 'more',
    aliases: ['more-like', 'like'],
    arg: { name: 'n', kind: 'number' },
    label: 'More like…',
    help: 'Show more images like match n (no new drawing).',
  },
  {
    action: 'not',
    name: 'not',
    aliases: ['not-these', 'none'],
    label: 'Not these',
    help: 'None of these: search away from all matches shown.',
  },
  {
    action: 'regen',
    name: 'regen',
    aliases: ['regenerate', 'redraw'],
    label: 'Regenerate',
    help: 'Same description, a new drawing.',
  },
  {
    action: 'draw',
    name: 'draw',
    aliases: ['picture', 'pictures'],
    arg: { name: 'auto', kind: 'text' },
    label: 'Draw it',
    help: 'Draw every round of this search (and the current one now); "/draw auto": I decide when a picture helps.',
  },
  {
    action: 'nodraw',
    name: 'nodraw',
    aliases: ['no-draw', 'words'],
    label: 'No pictures',
    help: 'Answer with my reading of your words and the matches, no pictures, until /draw.',
  },
  { action: 'undo', name: 'undo', aliases: ['back'], label: 'Undo', help: 'Drop the last round.' },
  {
    action: 'reset',
    name: 'reset',
    aliases: ['restart', 'start-over'],
    label: 'New search',
    help: 'Forget this search and start over in this thread.',
  },
  { action: 'help', name: 'help', aliases: ['?'], label: 'Help', help: 'Show this help.' },
  {
    action: 'keep',
    name: 'keep',
    aliases: ['consent'],
    label: 'Keep this search for research',
    help: 'Agree that the rounds of this search may be kept (pseudonymized) as research transcripts.',
  },
  {
    action: 'forget',
    name: 'forget',
    aliases: [],
    arg: { name: 'thread | user <id>', kind: 'text' },
    label: 'Forget me',
    help: 'Delete every search and transcript of yours. Admins: "forget thread" (this thread) or "forget user <id>".',
  },
  {
    action: 'status',
    name: 'status',
    aliases: [],
    label: 'Status',
    help: 'Gallery, index and transcript counts.',
    admin: true,
  },
  {
    action: 'export',
    name: 'export',
    aliases: [],
    label: 'Export',
    help: 'Export the consented transcripts (GenIR format) on the server.',
    admin: true,
  },
];

function findSpec(name: string): CommandSpec | undefined {
  const n = name.toLowerCase();
  return COMMANDS.find((c) => c.name === n || c.aliases.includes(n));
}

/** "/pick 3", "/more 2", "/find a red fox" → a command; null when the text is not a command. */
export function parseTypedCommand(text: string): TypedCommand | null {
  const m = /^\s*\/([\w?-]+)\s*([\s\S]*)$/.exec(text);
  if (!m) return null;
  const [, name = '', rest = ''] = m;
  const spec = findSpec(name);
  if (!spec) return { kind: 'unknown', name };
  if (spec.action === 'find') return { kind: 'find', text: rest.trim() };
  const arg = spec.arg?.kind === 'text' ? rest.trim() : (rest.trim().split(/\s+/)[0] ?? '');
  return {
    kind: 'action',
    ref: arg ? { action: spec.action, roundId: LATEST, arg } : { action: spec.action, roundId: LATEST },
  };
}

export function commandSpec(action: ActionName | 'find'): CommandSpec {
  return COMMANDS.find((c) => c.action === action) as CommandSpec;
}

/** Help text; `prefix` is how commands are typed on the platform ("/" in terminal and web). */
export function helpText(prefix = '/', options: { admin?: boolean } = {}): string {
  const line = (c: CommandSpec) => {
    const usage = `${prefix}${c.name}${c.arg ? ` <${c.arg.name}>` : ''}`;
    return `  ${usage.padEnd(24)} ${c.help}`;
  };
  const admin = COMMANDS.filter((c) => c.admin);
  return [
    'Describe the image you remember; I draw what I understood and show the closest images.',
    'Then correct me in plain words ("the circle is red, not blue"), or use:',
    ...COMMANDS.filter((c) => !c.admin).map(line),
    ...(options.admin ? ['Admin:', ...admin.map(line)] : []),
  ].join('\n');
}

/** The command set the engine reads typed commands with. */
export const commandSet: CommandSet = {
  parseTyped: parseTypedCommand,
  help: (options) => helpText('/', options),
};
