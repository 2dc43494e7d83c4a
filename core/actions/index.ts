/** Every action's handler, one file each; the engine looks them up by name. */
import type { ActionName } from '../action-id.ts';
import { adminTask } from './admin.ts';
import type { Handler } from './context.ts';
import { draw, nodraw } from './draw.ts';
import { forget } from './forget.ts';
import { help } from './help.ts';
import { keep } from './keep.ts';
import { more } from './more.ts';
import { not } from './not.ts';
import { pick } from './pick.ts';
import { regen } from './regen.ts';
import { reset } from './reset.ts';
import { undo } from './undo.ts';

export const ACTION_HANDLERS: Readonly<Record<ActionName, Handler>> = {
  pick,
  more,
  not,
  regen,
  draw,
  nodraw,
  undo,
  reset,
  help,
  keep,
  forget,
  status: adminTask('status'),
  export: adminTask('export'),
};

/** forget / status / export act on the person or the server, so they work outside threads too. */
export function isThreadless(action: ActionName): boolean {
  return Object.hasOwn(ACTION_HANDLERS, action) && ACTION_HANDLERS[action].scope === 'outside';
}
