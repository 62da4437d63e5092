/**
 * A failure the stage reports as it is: its message already says what happened, what state the
 * endpoints and records are in, and what to do.
 */
export class StageFailure extends Error {
  override readonly name = 'StageFailure';
}
