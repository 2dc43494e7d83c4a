import {
  type Colour,
  captionScene,
  completeScene,
  MAX_OBJECTS,
  type PartialObject,
  type PartialScene,
  type Position,
  type Shape,
} from '../../scene/index.ts';

/** The scene being refined, with the object the conversation is currently about. */
export interface EditState {
  background?: Colour;
  objects: PartialObject[];
  focus?: PartialObject;
  notes: string[];
}

export function stateFrom(scene: PartialScene): EditState {
  const state: EditState = { objects: scene.objects.map((o) => ({ ...o })), notes: [] };
  if (scene.background) state.background = scene.background;
  state.focus = state.objects.at(-1);
  return state;
}

/** The object of that shape: the one with the given colour, else the current one, else the latest. */
export function findByShape(state: EditState, shape: Shape, colour?: Colour): PartialObject | undefined {
  const candidates = state.objects.filter((o) => o.shape === shape);
  return (
    candidates.findLast((o) => colour !== undefined && o.colour === colour) ??
    (state.focus && candidates.includes(state.focus) ? state.focus : candidates.at(-1))
  );
}

/** Where the object was drawn: its stated position or the one the default layout gave it. */
export function shownPosition(state: EditState, object: PartialObject): Position {
  const index = state.objects.indexOf(object);
  return completeScene({ objects: state.objects }).objects[index]?.position ?? object.position ?? 'center';
}

export function addObject(state: EditState, object: PartialObject): PartialObject {
  state.objects.push(object);
  if (state.objects.length > MAX_OBJECTS) {
    const dropped = state.objects.shift() as PartialObject;
    state.notes.push(
      `A sketch holds at most ${MAX_OBJECTS} groups of shapes, so I dropped the oldest: ${captionScene({ objects: [dropped] })}.`,
    );
  }
  state.focus = object;
  return object;
}

export function removeObject(state: EditState, object: PartialObject): void {
  state.objects = state.objects.filter((o) => o !== object);
  state.focus = state.objects.at(-1);
}

export function oneMore(o: PartialObject): PartialObject['count'] {
  return Math.min(3, (o.count ?? 1) + 1) as PartialObject['count'];
}
