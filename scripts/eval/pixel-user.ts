/**
 * The perceiving simulated user: remembers the target only as it saw it (perception.ts on the
 * target PNG, with perception noise) and gets, each round, exactly what its condition shows:
 *
 * - an image (the bot's synthetic picture): perceived from its pixels;
 * - a text (the bot's refined query, verbal baseline): read with the user's language reader;
 * - the shown matches (prediction feedback): perceived from their pixels; it compares the target
 *   with the match that looks closest.
 *
 * Whatever it gets, it states the single most salient difference (same salience and the same
 * templates in every condition: the same information per message). It never receives captions,
 * scene structs or the query in the image conditions: the API takes PNG Buffers, and
 * tests/scripts/eval/no-leak.test.ts checks this module's imports.
 */
import type { Colour, Count, Position, Shape, Size } from '../../adapters/scene/vocabulary.ts';
import { POSITIONS } from '../../adapters/scene/vocabulary.ts';
import { createRng, type Rng } from '../../core/random.ts';
import { cellDistance, matchObjects, objectArea, SALIENCE } from './compare.ts';
import { type Correction, fullDescription, phrasings } from './paraphrase.ts';
import type { Percept, SeenObject } from './perception.ts';

/** What a text or a picture tells the user; a text may leave attributes unsaid. */
export interface View {
  background?: Colour | undefined;
  objects: {
    shape?: Shape | undefined;
    colour?: Colour | undefined;
    size?: Size | undefined;
    position?: Position | undefined;
    count?: Count | undefined;
  }[];
}

/** What one round shows the user, by condition. */
export type Seen =
  | { kind: 'image'; png: Buffer }
  | { kind: 'text'; text: string }
  | { kind: 'matches'; pngs: Buffer[] };

/** Rates of perception mistakes, applied to the target once and to every picture seen. */
export interface PerceptionNoise {
  /** An object group goes unnoticed. */
  miss: number;
  /** An object's colour is named as a neighbouring colour. */
  colour: number;
  /** An object is placed one grid cell off. */
  position: number;
}

export const NO_NOISE: PerceptionNoise = { miss: 0, colour: 0, position: 0 };

/** Colours people mix up with each other. */
const NEIGHBOUR_COLOURS: Record<Colour, readonly Colour[]> = {
  red: ['orange', 'pink', 'brown'],
  orange: ['red', 'yellow', 'brown'],
  yellow: ['orange', 'green'],
  green: ['teal', 'yellow'],
  teal: ['green', 'blue'],
  blue: ['teal', 'purple'],
  purple: ['blue', 'pink'],
  pink: ['purple', 'red'],
  brown: ['orange', 'red', 'black'],
  black: ['gray', 'brown'],
  white: ['gray'],
  gray: ['white', 'black'],
};

export interface PerceivingUserOptions {
  seed: number;
  noise?: PerceptionNoise;
  /** How the user sees a PNG (perception.ts; a cached one in long runs). */
  perceive: (png: Buffer) => Promise<Percept>;
  /** How the user reads a text (verbal condition only). */
  readText?: (text: string) => View;
  /** Ways a correction is tried before the user gives up on it. */
  attempts?: number;
}

interface Difference {
  key: string;
  salience: number;
  correction: Correction;
}

/** Sent when the user has nothing left to correct: draw it again (new seed). */
export const DRAW_AGAIN = '/regen';

export class PerceivingUser {
  readonly kind = 'perceiving';
  private readonly rng: Rng;
  private readonly tried = new Map<string, { count: number; first: number }>();
  private readonly givenUp = new Set<string>();
  private readonly liked = new Set<number>();

  private constructor(
    /** The target as this user remembers it. */
    readonly target: Percept,
    private readonly options: PerceivingUserOptions,
    rng: Rng,
  ) {
    this.rng = rng;
  }

  /** Looks at the target picture (a PNG, nothing else) and remembers what it saw. */
  static async fromPng(targetPng: Buffer, options: PerceivingUserOptions): Promise<PerceivingUser> {
    if (!Buffer.isBuffer(targetPng))
      throw new TypeError('a perceiving user takes the target as a PNG Buffer');
    const rng = createRng(options.seed);
    const seen = addNoise(await options.perceive(targetPng), options.noise ?? NO_NOISE, rng);
    return new PerceivingUser(seen, options, rng);
  }

  private pick = <T>(items: readonly T[]): T => items[Math.floor(this.rng() * items.length)] as T;

  /** Round 0: a full description of the target as this user saw it. */
  describe(): string {
    return fullDescription(this.target, this.pick);
  }

  /** The next message after seeing a round. */
  async respond(seen: Seen): Promise<string> {
    const view = await this.viewOf(seen);
    for (const diff of differences(this.target, view)) {
      if (this.givenUp.has(diff.key)) continue;
      const ways = phrasings(diff.correction, this.pick);
      const said = this.tried.get(diff.key) ?? { count: 0, first: Math.floor(this.rng() * ways.length) };
      if (said.count >= (this.options.attempts ?? 3)) {
        // Said it every way it tries and the bot still gets it wrong: leave it.
        this.givenUp.add(diff.key);
        continue;
      }
      this.tried.set(diff.key, { ...said, count: said.count + 1 });
      return ways[(said.first + said.count) % ways.length] as string;
    }
    return DRAW_AGAIN;
  }

  /**
   * Relevance feedback: the 1-based number of a shown match that looks closer to the target than
   * the drawing (not liked before), or null.
   */
  async closerMatch(drawing: Buffer, matches: Buffer[]): Promise<number | null> {
    const drawn = distance(this.target, await this.look(drawing));
    let best: { n: number; d: number } | null = null;
    for (let i = 0; i < matches.length; i++) {
      const d = distance(this.target, await this.look(matches[i] as Buffer));
      if (!this.liked.has(i) && (!best || d < best.d)) best = { n: i + 1, d };
    }
    if (!best || best.d >= drawn) return null;
    this.liked.add(best.n - 1);
    return best.n;
  }

  private async look(png: Buffer): Promise<Percept> {
    return addNoise(await this.options.perceive(png), this.options.noise ?? NO_NOISE, this.rng);
  }

  private async viewOf(seen: Seen): Promise<View> {
    switch (seen.kind) {
      case 'image':
        return this.look(seen.png);
      case 'text': {
        if (!this.options.readText) throw new Error('this user cannot read (no readText given)');
        return this.options.readText(seen.text);
      }
      case 'matches': {
        let best: { view: Percept; d: number } | null = null;
        for (const png of seen.pngs) {
          const view = await this.look(png);
          const d = distance(this.target, view);
          if (!best || d < best.d) best = { view, d };
        }
        return best?.view ?? { objects: [] };
      }
    }
  }
}

/** A percept as a noisy eye reports it. */
export function addNoise(p: Percept, noise: PerceptionNoise, rng: Rng): Percept {
  if (noise.miss === 0 && noise.colour === 0 && noise.position === 0) return p;
  const objects: SeenObject[] = [];
  for (const o of p.objects) {
    if (rng() < noise.miss) continue;
    const colour =
      rng() < noise.colour
        ? (NEIGHBOUR_COLOURS[o.colour][Math.floor(rng() * NEIGHBOUR_COLOURS[o.colour].length)] as Colour)
        : o.colour;
    const position = rng() < noise.position ? neighbourCell(o.position, rng) : o.position;
    objects.push({ ...o, colour, position });
  }
  return { background: p.background, objects };
}

function neighbourCell(p: Position, rng: Rng): Position {
  const near = POSITIONS.filter((q) => cellDistance(p, q) === 1);
  return near[Math.floor(rng() * near.length)] as Position;
}

/** Every difference between the remembered target and a view, most salient first. */
export function differences(target: Percept, view: View): Difference[] {
  const out: Difference[] = [];
  if (view.background !== target.background) {
    const c = target.background;
    out.push({
      key: `background:${c}`,
      salience: 1 - target.objects.reduce((s, o) => s + objectArea(o), 0),
      correction: { kind: 'background', colour: c },
    });
  }
  const { pairs, missing, extra } = matchObjects(target.objects, view.objects);
  for (const t of missing) {
    out.push({
      key: `missing:${t.shape}`,
      salience: SALIENCE.presence * objectArea(t),
      correction: { kind: 'missing', object: t },
    });
  }
  for (const d of extra) {
    if (!d.shape) continue;
    out.push({
      key: `extra:${d.shape}`,
      salience: SALIENCE.presence * objectArea(d),
      correction: { kind: 'extra', shape: d.shape },
    });
  }
  for (const [t, d] of pairs) {
    const a = objectArea(t);
    // A correction names the object as the other side shows it.
    const name = d.shape ?? t.shape;
    if (t.colour !== d.colour)
      out.push({
        key: `colour:${t.shape}:${t.colour}`,
        salience: SALIENCE.colour * a,
        correction: { kind: 'colour', shape: name, colour: t.colour, was: d.colour },
      });
    if (t.position !== d.position)
      out.push({
        key: `position:${t.shape}:${t.position}`,
        salience: SALIENCE.position * (1 + (d.position ? cellDistance(t.position, d.position) : 1)) * a,
        correction: { kind: 'position', shape: name, position: t.position },
      });
    if (t.size !== d.size)
      out.push({
        key: `size:${t.shape}:${t.size}`,
        salience: SALIENCE.size * (d.size ? Math.abs(a - objectArea(d)) : a / 2),
        correction: { kind: 'size', shape: name, size: t.size, was: d.size },
      });
    if (t.shape !== d.shape)
      out.push({
        key: `shape:${t.shape}`,
        salience: SALIENCE.shape * a,
        correction: { kind: 'shape', shape: t.shape, was: d.shape },
      });
    if (t.count !== (d.count ?? 1))
      out.push({
        key: `count:${t.shape}:${t.count}`,
        salience: SALIENCE.count * a,
        correction: { kind: 'count', shape: t.shape, count: t.count },
      });
  }
  const order = new Map(out.map((d, i) => [d, i]));
  return out.sort((a, b) => b.salience - a.salience || (order.get(a) as number) - (order.get(b) as number));
}

/** How different a view looks from the target: summed salience (0 = the same). */
export function distance(target: Percept, view: View): number {
  return differences(target, view).reduce((s, d) => s + d.salience, 0);
}
