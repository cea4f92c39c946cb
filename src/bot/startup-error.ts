/** Why start-up stopped; `exitCode` is what main.ts exits with. */
export type StartupErrorCode = 'token_rejected' | 'config' | 'stopped' | 'failed';

export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    readonly code: StartupErrorCode,
    /** one line for the person running the bot (no secrets) */
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const isStartupError = (e: unknown): e is StartupError => e instanceof StartupError;

/** The error every start-up step throws once stop() was called. */
export const stoppedDuringStartup = (): StartupError => new StartupError('stopped', 'stopped during start-up', 0);
