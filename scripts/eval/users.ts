/**
 * Simulated users of `genir eval`: who remembers the target and talks to the bot.
 *
 * - SceneUser (offline world): knows the target's scene; starts vague, then each round states the
 *   single most salient difference between the target and what the bot drew.
 * - BlindUser (baseline): never looks at the drawing; adds one not-yet-said attribute per round.
 * - VlmUser (real data): an OpenAI-compatible vision chat model that captions the target and then
 *   compares target and synthetic image each round (see vlm-user.ts).
 */

import type { Scene, SceneObject } from '../../adapters/scene/index.ts';
import { positionPhrase, SHAPE_PLURALS } from '../../adapters/scene/index.ts';
import { createRng, hashString, type Rng } from '../../core/random.ts';
import {
  countWords,
  mainObject,
  plainScene,
  type SceneDiff,
  sceneDiffs,
  sceneDistance,
  sceneOfCaption,
} from './scene-diff.ts';

/** What the user sees of one bot round. */
export interface BotTurn {
  /** 0-based round index. */
  round: number;
  /** The refined query the bot drew from. */
  query: string;
  /** What the bot drew, in words (the sketch generator's scene caption); absent when it drew nothing new. */
  interpretation?: string;
  /** The synthetic image (PNG); null when the round reused the previous picture. */
  syntheticPng: Buffer | null;
  /** The numbered matches shown, best first. */
  tiles: { n: number; assetId: string }[];
}

/** Sent when the user has nothing left to correct: draw it again (new seed; unseen matches). */
export const NOTHING_TO_ADD = '/regen';

export interface SimulatedUser {
  readonly kind: string;
  /** The first description (round 0). */
  describe(): Promise<string>;
  /** The next message after seeing a round. */
  respond(turn: BotTurn): Promise<string>;
  /**
   * Relevance feedback: the number of a shown match that looks closer to the target than the
   * drawing (and was not liked before), or null. Users that cannot judge leave it out.
   */
  closerMatch?(turn: BotTurn): Promise<number | null>;
}

/** Per-target seed of a user: the same target and run seed always give the same dialogue. */
export function userSeed(seed: number, targetId: string): number {
  return hashString(`${seed}|${targetId}`);
}

/**
 * The hazy first description: the main (largest) object's shape plus the most salient of the
 * background colour (when not white) and that object's colour, e.g. "a star on a teal
 * background" or "a red star".
 */
export function vagueDescription(scene: Scene): { text: string; said: Set<string> } {
  const main = mainObject(scene);
  if (scene.background !== 'white') {
    return {
      text: `a ${main.shape} on a ${scene.background} background`,
      said: new Set([`shape:${main.shape}`, 'background']),
    };
  }
  return {
    text: `a ${main.colour} ${main.shape}`,
    said: new Set([`shape:${main.shape}`, `colour:${main.shape}`]),
  };
}

export interface SceneUserOptions {
  seed: number;
  /** The scene of a gallery asset, for judging matches (relevance feedback). */
  sceneOf?: (assetId: string) => Scene | undefined;
}

/** The offline world's visual user: compares the drawing with the scene it remembers. */
export class SceneUser implements SimulatedUser {
  readonly kind = 'scene';
  private readonly target: Scene;
  private readonly rng: Rng;
  private readonly sceneOf: ((assetId: string) => Scene | undefined) | undefined;
  /** How often each difference has been said, and the phrasing it started with. */
  private readonly attempts = new Map<string, { count: number; first: number }>();
  private readonly givenUp = new Set<string>();
  private readonly liked = new Set<string>();
  private drawn: Scene | null = null;

  constructor(target: Scene, options: SceneUserOptions) {
    this.target = plainScene(target);
    this.rng = createRng(options.seed);
    this.sceneOf = options.sceneOf;
  }

  async describe(): Promise<string> {
    return vagueDescription(this.target).text;
  }

  /** The differences between the target and the latest drawing, most salient first. */
  differences(turn: BotTurn): SceneDiff[] {
    this.see(turn);
    return sceneDiffs(this.target, this.drawn as Scene);
  }

  async respond(turn: BotTurn): Promise<string> {
    for (const diff of this.differences(turn)) {
      if (this.givenUp.has(diff.key)) continue;
      const said = this.attempts.get(diff.key);
      if (said && said.count >= diff.phrasings.length) {
        // Said every way it can be said and the drawing still differs: leave it.
        this.givenUp.add(diff.key);
        continue;
      }
      const state = said ?? { count: 0, first: Math.floor(this.rng() * diff.phrasings.length) };
      const text = diff.phrasings[(state.first + state.count) % diff.phrasings.length] as string;
      this.attempts.set(diff.key, { ...state, count: state.count + 1 });
      return text;
    }
    return NOTHING_TO_ADD;
  }

  async closerMatch(turn: BotTurn): Promise<number | null> {
    if (!this.sceneOf) return null;
    this.see(turn);
    let best: { n: number; assetId: string; distance: number } | null = null;
    for (const tile of turn.tiles) {
      if (this.liked.has(tile.assetId)) continue;
      const scene = this.sceneOf(tile.assetId);
      if (!scene) continue;
      const distance = sceneDistance(this.target, plainScene(scene));
      if (!best || distance < best.distance) best = { n: tile.n, assetId: tile.assetId, distance };
    }
    if (!best || best.distance >= sceneDistance(this.target, this.drawn as Scene)) return null;
    this.liked.add(best.assetId);
    return best.n;
  }

  private see(turn: BotTurn): void {
    if (turn.interpretation) this.drawn = sceneOfCaption(turn.interpretation);
    else if (!this.drawn) this.drawn = sceneOfCaption(turn.query);
  }
}

interface Unit {
  key: string;
  /** Units that must be said first (an object is introduced before its attributes). */
  after?: string;
  text: string;
}

/** Everything one could say about a scene, one attribute at a time. */
function attributeUnits(scene: Scene): Unit[] {
  const units: Unit[] = [{ key: 'background', text: `the background is ${scene.background}` }];
  for (const o of scene.objects) units.push(...objectUnits(o));
  return units;
}

function objectUnits(o: SceneObject): Unit[] {
  const intro = `shape:${o.shape}`;
  const count =
    o.count > 1 ? `there are ${countWords(o.count)} ${SHAPE_PLURALS[o.shape]}` : `there is one ${o.shape}`;
  return [
    { key: intro, text: `there is also a ${o.shape}` },
    { key: `colour:${o.shape}`, after: intro, text: `the ${o.shape} is ${o.colour}` },
    { key: `size:${o.shape}`, after: intro, text: `the ${o.shape} is ${o.size}` },
    { key: `position:${o.shape}`, after: intro, text: `the ${o.shape} is ${positionPhrase(o.position)}` },
    { key: `count:${o.shape}`, after: intro, text: count },
  ];
}

/** The text-only baseline: same first description, then one unsaid attribute per round, in random order. */
export class BlindUser implements SimulatedUser {
  readonly kind = 'blind';
  private readonly target: Scene;
  private readonly rng: Rng;
  private readonly said: Set<string>;
  private readonly units: Unit[];

  constructor(target: Scene, options: { seed: number }) {
    this.target = plainScene(target);
    this.rng = createRng(options.seed);
    this.said = vagueDescription(this.target).said;
    this.units = attributeUnits(this.target);
  }

  async describe(): Promise<string> {
    return vagueDescription(this.target).text;
  }

  async respond(_turn: BotTurn): Promise<string> {
    const open = this.units.filter((u) => !this.said.has(u.key) && (!u.after || this.said.has(u.after)));
    if (open.length === 0) return NOTHING_TO_ADD;
    const unit = open[Math.floor(this.rng() * open.length)] as Unit;
    this.said.add(unit.key);
    return unit.text;
  }
}
