/**
 * The ids buttons, selects and typed commands carry to the engine: "genir:<action>:<roundId>:<arg>",
 * at most 100 characters (Discord's custom_id limit). The command set (commands/) names and
 * explains the actions; the engine only needs to know which one was meant, on which round.
 */

export const ACTION_NAMES = [
  'pick',
  'more',
  'not',
  'regen',
  'draw',
  'nodraw',
  'undo',
  'reset',
  'help',
  'keep',
  'forget',
  'status',
  'export',
] as const;

export type ActionName = (typeof ACTION_NAMES)[number];

const ACTIONS: ReadonlySet<string> = new Set(ACTION_NAMES);
const PREFIX = 'genir';
/** Round reference meaning "the latest round" (typed commands name no round). */
export const LATEST = '-';

export interface ActionRef {
  action: ActionName;
  roundId: string;
  arg?: string;
}

export function encodeActionId(action: ActionName, roundId: string, arg?: string | number): string {
  const id = [PREFIX, action, roundId, arg ?? ''].join(':');
  if (id.length > 100) throw new Error(`action id too long (${id.length} > 100): ${id}`);
  return id;
}

export function decodeActionId(id: string): ActionRef | null {
  const parts = id.split(':');
  if (parts.length !== 4 || parts[0] !== PREFIX) return null;
  const [, action, roundId, arg] = parts as [string, string, string, string];
  if (!ACTIONS.has(action) || !roundId) return null;
  return arg ? { action: action as ActionName, roundId, arg } : { action: action as ActionName, roundId };
}
