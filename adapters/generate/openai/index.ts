export {
  asImageRefusal,
  OpenAIImageGenerator,
  type OpenAIImageGeneratorOptions,
  REPHRASE_IMAGE,
} from './generator.ts';
