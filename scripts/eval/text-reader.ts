/**
 * The verbal condition's reader: what a user understands from the bot's refined query. Only the
 * verbal channel uses it — the query is exactly what that condition shows the user.
 */
import { parseScene } from '../../adapters/scene/index.ts';
import type { View } from './pixel-user.ts';

/** Reads a query; attributes it does not state stay unknown (nothing is filled in). */
export function readQuery(text: string): View {
  const scene = parseScene(text);
  return { background: scene.background, objects: scene.objects.map((o) => ({ ...o })) };
}
