export { captionScene, positionPhrase } from './caption.ts';
export { completeScene, DEFAULTS, jitterScene } from './complete.ts';
export { type Lexed, lexScene, type Mention, type MentionOf } from './lexer.ts';
export { parseScene } from './parse.ts';
export { type RenderOptions, type RenderStyle, renderScene } from './render.ts';
export { sampleScene } from './sample.ts';
export {
  MAX_OBJECTS,
  type ObjectJitter,
  type PartialObject,
  type PartialScene,
  type Scene,
  type SceneJitter,
  type SceneObject,
  type Speck,
} from './scene.ts';
export * from './vocabulary.ts';
