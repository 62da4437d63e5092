/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface CliIo {
  readonly stdout: { write(chunk: string): unknown; isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown; isTTY?: boolean };
  /** Read for an input named `-`. @default process.stdin */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
}

/** Exit codes every subcommand shares, so CI can tell "the input is bad" from "the tool could not run". */
export const ExitCode = {
  /** The check passed. */
  Ok: 0,
  /** The check ran and the input failed it (bad data, bad config, regression). */
  CheckFailed: 1,
  /** Bad usage, or an input that could not be read. */
  UsageOrIo: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user can fix: printed as one line, no stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A reader that closes the pipe early (`mlops scrub-pii big.jsonl | head`) has what it wanted: the
 * command ends quietly with exit 0 instead of an EPIPE stack trace. Other stream errors still throw.
 */
export function endQuietlyOnClosedPipe(
  stream: NodeJS.WritableStream,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    exit(0);
  });
}
