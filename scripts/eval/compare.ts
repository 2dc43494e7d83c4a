/**
 * Comparing two descriptions of a scene-world picture, attribute by attribute, with nothing but
 * the vocabulary: which objects correspond, how much of the picture each covers, how far apart two
 * grid cells are. Shared by the closed-loop users (scene-diff.ts) and the perceiving users.
 */
import type { Colour, Position, Shape, Size } from '../../adapters/scene/vocabulary.ts';
import { POSITION_GRID } from '../../adapters/scene/vocabulary.ts';

/** Nominal object radius as a fraction of the side (as adapters/scene/render.ts draws it). */
const RADIUS: Record<Size, number> = { small: 0.075, medium: 0.115, large: 0.165 };

/** Share of the picture an object group covers (copies of 2–3 are drawn smaller; about the same area). */
export function objectArea(o: { size?: Size | undefined }): number {
  return Math.PI * RADIUS[o.size ?? 'medium'] ** 2;
}

/** Salience multipliers per kind of difference, on top of the area it concerns. */
export const SALIENCE = {
  /** Something is there that should not be, or missing: the most striking object-level difference. */
  presence: 2.5,
  colour: 2,
  /** Per grid cell the object is off by, plus one. */
  position: 1,
  size: 1.5,
  shape: 0.8,
  count: 0.6,
} as const;

export function cellDistance(a: Position, b: Position): number {
  const pa = POSITION_GRID[a];
  const pb = POSITION_GRID[b];
  return Math.max(Math.abs(pa.row - pb.row), Math.abs(pa.col - pb.col));
}

interface Comparable {
  shape?: Shape | undefined;
  colour?: Colour | undefined;
  size?: Size | undefined;
  position?: Position | undefined;
}

/** Pairs each remembered object with the other one it corresponds to: same shape first, then most alike. */
export function matchObjects<T extends Comparable, D extends Comparable>(
  target: readonly T[],
  other: readonly D[],
): { pairs: [T, D][]; missing: T[]; extra: D[] } {
  const pairs: [T, D][] = [];
  const freeT = [...target];
  const freeD = [...other];
  for (const t of target) {
    const d = freeD.find((x) => x.shape !== undefined && x.shape === t.shape);
    if (!d) continue;
    pairs.push([t, d]);
    freeT.splice(freeT.indexOf(t), 1);
    freeD.splice(freeD.indexOf(d), 1);
  }
  // An object of another (or no stated) shape still "is" the remembered one when its colour or place agrees.
  const alike = (t: T, d: D) =>
    (d.colour !== undefined && t.colour === d.colour ? 2 : 0) +
    (d.position !== undefined && t.position === d.position ? 2 : 0) +
    (d.size !== undefined && t.size === d.size ? 1 : 0) +
    (d.shape === undefined ? 1 : 0);
  for (;;) {
    let best: { t: T; d: D; score: number } | undefined;
    for (const t of freeT) {
      for (const d of freeD) {
        const score = alike(t, d);
        if (score >= 2 && (!best || score > best.score)) best = { t, d, score };
      }
    }
    if (!best) break;
    pairs.push([best.t, best.d]);
    freeT.splice(freeT.indexOf(best.t), 1);
    freeD.splice(freeD.indexOf(best.d), 1);
  }
  return { pairs, missing: freeT, extra: freeD };
}
