import type { Colour, Count, Position, Shape, Size } from './vocabulary.ts';

/** Small per-object drawing variations; never changes what the scene is, only how it looks. */
export interface ObjectJitter {
  /** Offsets as fractions of the canvas side. */
  dx: number;
  dy: number;
  /** Multiplier on the object's radius. */
  scale: number;
  /** Degrees. */
  rotation: number;
  /** Degrees of hue shift and lightness shift (-1..1 scale) of the fill colour. */
  hue: number;
  lightness: number;
  /** Degrees the arrangement of 2–3 copies is turned by. */
  spread: number;
}

export interface Speck {
  x: number;
  y: number;
  r: number;
  dark: boolean;
  opacity: number;
}

/** Background variation: lightness shift and a faint speckle texture (coordinates in tile units 0..1). */
export interface SceneJitter {
  lightness: number;
  tile: number;
  specks: Speck[];
}

export interface SceneObject {
  shape: Shape;
  colour: Colour;
  size: Size;
  position: Position;
  count: Count;
  jitter?: ObjectJitter;
}

/** A complete scene: a background and 1–3 object groups. */
export interface Scene {
  background: Colour;
  objects: SceneObject[];
  jitter?: SceneJitter;
}

/** What a text says about an object; anything it does not say is left out. */
export interface PartialObject {
  shape?: Shape;
  colour?: Colour;
  size?: Size;
  position?: Position;
  count?: Count;
}

export interface PartialScene {
  background?: Colour;
  objects: PartialObject[];
}

export const MAX_OBJECTS = 3;
