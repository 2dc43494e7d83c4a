/** A missing or invalid setting; its own module so a command can catch it without loading the config schema. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
