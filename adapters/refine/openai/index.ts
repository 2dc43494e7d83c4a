export {
  buildMessages,
  echoesSystemPrompt,
  extractJson,
  OUTPUT_SCHEMA,
  type ParsedOutput,
  parseRefinerOutput,
  RefinerOutputError,
  SYSTEM_PROMPT,
} from './prompt.ts';
export { type JsonMode, OpenAIRefiner, type OpenAIRefinerOptions } from './refiner.ts';
