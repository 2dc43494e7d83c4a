/**
 * What a person notices when comparing two scenes of the offline world: the differences between
 * the scene they remember and a drawn one, each with a salience (roughly: how much of the picture
 * it changes), and plain-English ways of saying it that the rule refiner understands.
 */
import {
  COUNT_WORDS,
  type Count,
  captionScene,
  completeScene,
  type PartialScene,
  parseScene,
  positionPhrase,
  type Scene,
  type SceneObject,
  SHAPE_PLURALS,
} from '../../adapters/scene/index.ts';
import { cellDistance, matchObjects, objectArea, SALIENCE } from './compare.ts';

export { matchObjects, objectArea, SALIENCE };

export type DiffKind =
  | 'background'
  | 'missing'
  | 'extra'
  | 'colour'
  | 'position'
  | 'size'
  | 'shape'
  | 'count';

export interface SceneDiff {
  kind: DiffKind;
  salience: number;
  /** The object of the remembered scene it is about (missing, attribute differences). */
  target?: SceneObject;
  /** The drawn object it is about (extra, attribute differences). */
  drawn?: SceneObject;
  /** A stable name for "the same difference" across rounds, e.g. "colour:star:red". */
  key: string;
  /** Ways of saying it, most natural first; every one is understood by the rule refiner. */
  phrasings: string[];
}

/** "a small green triangle at the top left" / "two small green triangles at the top left". */
export function describeObject(o: SceneObject): string {
  return captionScene({ objects: [{ ...o, jitter: undefined } as SceneObject] });
}

function plural(o: Pick<SceneObject, 'shape'>): string {
  return SHAPE_PLURALS[o.shape];
}

function countWords(count: Count): string {
  return count === 1 ? 'one' : COUNT_WORDS[count];
}

/**
 * Every difference between the remembered scene and the drawn one, most salient first (ties in
 * scene order). An empty list means the drawing shows the remembered scene.
 */
export function sceneDiffs(target: Scene, drawn: Scene): SceneDiff[] {
  const diffs: SceneDiff[] = [];
  if (target.background !== drawn.background) {
    const c = target.background;
    diffs.push({
      kind: 'background',
      salience: 1 - target.objects.reduce((s, o) => s + objectArea(o), 0),
      key: `background:${c}`,
      phrasings: [`the background is ${c}`, `the background should be ${c}`, `make the background ${c}`],
    });
  }
  const { pairs, missing, extra } = matchObjects(target.objects, drawn.objects);
  for (const t of missing) {
    const what = describeObject(t);
    const verb = t.count > 1 ? 'there are also' : 'there is also';
    diffs.push({
      kind: 'missing',
      target: t,
      salience: SALIENCE.presence * objectArea(t),
      key: `missing:${t.shape}`,
      phrasings: [`${verb} ${what}`, `add ${what}`, `and ${what}`],
    });
  }
  for (const d of extra) {
    diffs.push({
      kind: 'extra',
      drawn: d,
      salience: SALIENCE.presence * objectArea(d),
      key: `extra:${d.shape}`,
      phrasings: [`there is no ${d.shape}`, `remove the ${d.shape}`, `no ${plural(d)}`],
    });
  }
  for (const [t, d] of pairs) {
    const a = objectArea(t);
    const name = d.shape;
    if (t.colour !== d.colour) {
      diffs.push({
        kind: 'colour',
        target: t,
        drawn: d,
        salience: SALIENCE.colour * a,
        key: `colour:${t.shape}:${t.colour}`,
        phrasings: [
          `the ${name} is ${t.colour}, not ${d.colour}`,
          `the ${name} should be ${t.colour}`,
          `make the ${name} ${t.colour}`,
        ],
      });
    }
    if (t.position !== d.position) {
      const where = positionPhrase(t.position);
      diffs.push({
        kind: 'position',
        target: t,
        drawn: d,
        salience: SALIENCE.position * (1 + cellDistance(t.position, d.position)) * a,
        key: `position:${t.shape}:${t.position}`,
        phrasings: [`the ${name} is ${where}`, `the ${name} should be ${where}`, `put the ${name} ${where}`],
      });
    }
    if (t.size !== d.size) {
      diffs.push({
        kind: 'size',
        target: t,
        drawn: d,
        salience: SALIENCE.size * Math.abs(a - objectArea(d)),
        key: `size:${t.shape}:${t.size}`,
        phrasings: [
          `the ${name} is ${t.size}`,
          `the ${name} should be ${t.size}`,
          `make the ${name} ${t.size}`,
        ],
      });
    }
    if (t.shape !== d.shape) {
      diffs.push({
        kind: 'shape',
        target: t,
        drawn: d,
        salience: SALIENCE.shape * a,
        key: `shape:${d.shape}:${t.shape}`,
        phrasings: [
          `not a ${d.shape}, a ${t.shape}`,
          `the ${d.shape} should be a ${t.shape}`,
          `change the ${d.shape} into a ${t.shape}`,
        ],
      });
    }
    if (t.count !== d.count) {
      const shape = t.shape === d.shape ? t.shape : d.shape;
      const n = countWords(t.count);
      const noun = t.count > 1 ? SHAPE_PLURALS[shape] : shape;
      diffs.push({
        kind: 'count',
        target: t,
        drawn: d,
        salience: SALIENCE.count * a,
        key: `count:${t.shape}:${t.count}`,
        phrasings:
          t.count > 1
            ? [`there are ${n} ${noun}`, `there should be ${n} ${noun}`, `make it ${n} ${noun}`]
            : [`there is one ${noun}`, `there should be one ${noun}`, `make it one ${noun}`],
      });
    }
  }
  const order = new Map(diffs.map((d, i) => [d, i]));
  return diffs.sort((a, b) => b.salience - a.salience || (order.get(a) as number) - (order.get(b) as number));
}

/** How different two scenes look: the summed salience of their differences (0 = the same scene). */
export function sceneDistance(target: Scene, other: Scene): number {
  return sceneDiffs(target, other).reduce((s, d) => s + d.salience, 0);
}

/** The scene a caption describes, completed with the generator's defaults (what gets drawn). */
export function sceneOfCaption(caption: string): Scene {
  return completeScene(parseScene(caption));
}

/** Drops drawing jitter: two scenes with equal attributes compare equal. */
export function plainScene(scene: Scene | PartialScene): Scene {
  const complete = completeScene(scene as PartialScene);
  return {
    background: complete.background,
    objects: complete.objects.map(({ shape, colour, size, position, count }) => ({
      shape,
      colour,
      size,
      position,
      count,
    })),
  };
}

/** The remembered scene's attributes ranked by salience, for a first, vague description. */
export function mainObject(scene: Scene): SceneObject {
  let best = scene.objects[0] as SceneObject;
  for (const o of scene.objects) if (objectArea(o) > objectArea(best)) best = o;
  return best;
}

export { countWords };
