/** An error whose message is meant for the person in the thread (no internals, no secrets). */
export class UserFacingError extends Error {
  override readonly name: string = 'UserFacingError';
}

/** A provider refused the request on content grounds (safety filter): ask to rephrase, never retry. */
export class RefusedError extends UserFacingError {
  override readonly name = 'RefusedError';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A round given up because the person sent more before it finished; its words join the next round. */
export class SupersededError extends Error {
  override readonly name = 'SupersededError';
  constructor() {
    super('superseded by a newer message');
  }
}
