import { type ErrorCode, errorText } from './error-text.ts';

/** An error with a code (see core/error-text.ts) and, where there is one, its cause. */
export class CodedError extends Error {
  override readonly name: string = 'CodedError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An error whose message is meant for the person in the thread (no internals, no secrets). */
export class UserFacingError extends CodedError {
  override readonly name: string = 'UserFacingError';
}

/** A provider refused the request on content grounds (safety filter): ask to rephrase, never retry. */
export class RefusedError extends UserFacingError {
  override readonly name = 'RefusedError';
  /** `message`: the provider's own wording of the refusal, when it has one. */
  constructor(message = errorText('refused'), options?: ErrorOptions) {
    super('refused', message, options);
  }
}

/** A round given up because the person sent more before it finished; its words join the next round. */
export class SupersededError extends CodedError {
  override readonly name = 'SupersededError';
  constructor() {
    super('superseded', 'superseded by a newer message');
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
