/**
 * The one way a module runs as the process entry (`node dist/src/cli.js`, `tsx src/main.ts`,
 * or the `mmops` bin link to it): an unhandled rejection becomes one JSON log line, the
 * exit code is what `run` resolves to (undefined: let the process end by itself), and a
 * throw exits 1 with one line on stderr. Used by src/cli.ts and src/main.ts.
 *
 * @example
 *   runIfEntry(import.meta.url, () => main());
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serializeError } from './logger.js';

/** True when the module at `moduleUrl` is the script node was started with (symlinks resolved). */
export function isEntry(moduleUrl: string, entry = process.argv[1]): boolean {
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs `run` if the module at `moduleUrl` is the process entry (see the module comment). */
export function runIfEntry(moduleUrl: string, run: () => Promise<number | undefined>): void {
  if (!isEntry(moduleUrl)) return;
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`${JSON.stringify({ level: 50, msg: 'unhandled rejection', err: serializeError(reason) })}\n`);
  });
  run().then(
    (code) => {
      if (code !== undefined) process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`mmops: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
