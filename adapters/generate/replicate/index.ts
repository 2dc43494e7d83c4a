export {
  firstOutputUrl,
  REPHRASE,
  ReplicateGenerator,
  type ReplicateGeneratorOptions,
  singleShotFetch,
} from './generator.ts';
export {
  ASPECT_RATIOS,
  buildInput,
  FAMILIES,
  familyOf,
  type GenerationOptions,
  type ModelFamily,
  nearestAspectRatio,
  parseSize,
} from './models.ts';
