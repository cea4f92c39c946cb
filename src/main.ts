/**
 * The bot (`mmops`, `npm start`): read the configuration, start the bot, stop cleanly on SIGINT/SIGTERM.
 *
 * Exit codes: 0 after a clean shutdown (or `--help`); 2 for a configuration problem
 * (one line per problem on stderr, never the token); 1 when the server rejects the
 * token or start-up fails otherwise.
 */
import { configHelp, loadConfig, NO_SERVER_HINT } from './config.js';
import type { BotDeps } from './bot.js';
import { createLogger } from './log/logger.js';
import { runIfEntry } from './log/process-entry.js';
import { chooseLogFormat } from './log/log-pretty.js';

export interface MainIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** subscribes to shutdown signals; returns an unsubscribe function */
  onSignal: (handler: (signal: string) => void) => () => void;
  /** whether the log goes to a terminal (pretty lines unless MMOPS_LOG_FORMAT says otherwise) */
  stdoutIsTTY?: boolean;
}

const processIo: MainIo = {
  stdoutIsTTY: process.stdout.isTTY === true,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  onSignal: (handler) => {
    const on = (sig: NodeJS.Signals) => () => handler(sig);
    const int = on('SIGINT');
    const term = on('SIGTERM');
    process.on('SIGINT', int);
    process.on('SIGTERM', term);
    return () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
    };
  },
};

/** Runs the bot until a signal; resolves with the exit code. */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  io: MainIo = processIo,
  deps: BotDeps = {},
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(configHelp());
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--');
  if (unknown.length > 0) {
    io.err(`mmops: unknown argument ${JSON.stringify(unknown[0])}; settings come from the environment (see --help)`);
    return 2;
  }

  const loaded = loadConfig(env);
  if (!loaded.ok) {
    if (loaded.noServer) {
      for (const line of NO_SERVER_HINT) io.err(line);
      const rest = loaded.problems.filter((p) => !p.startsWith('MM_URL:') && !p.startsWith('MM_BOT_TOKEN:'));
      for (const p of rest) io.err(p);
    } else {
      for (const p of loaded.problems) io.err(p);
      io.err('Run with --help to see every setting.');
    }
    return 2;
  }
  const config = loaded.config;
  // Loaded only now: a configuration problem is reported without loading the whole bot.
  const { createBot, isStartupError } = await import('./bot.js');
  const format = chooseLogFormat(config.logFormat, io.stdoutIsTTY === true);
  const color = format === 'pretty' && io.stdoutIsTTY === true && !env.NO_COLOR;
  const logger = deps.logger ?? createLogger({ level: config.logLevel, base: { app: 'mmops' }, format, color });
  const bot = createBot(config, { ...deps, logger });

  let signalled: ((code: number) => void) | undefined;
  const stopped = new Promise<number>((resolve) => {
    signalled = resolve;
  });
  let signals = 0;
  const unsubscribe = io.onSignal((signal) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      signalled?.(1);
      return;
    }
    logger.info({ signal }, 'signal received, shutting down');
    bot.stop().then(
      () => signalled?.(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        signalled?.(1);
      },
    );
  });

  try {
    await Promise.race([bot.start(), stopped.then(() => undefined)]);
  } catch (err) {
    unsubscribe();
    if (isStartupError(err)) {
      if (err.code === 'stopped') return stopped;
      logger.error({ code: err.code }, err.message);
      io.err(`mmops: ${err.message}`);
      return err.exitCode;
    }
    logger.error({ err }, 'start-up failed');
    io.err(`mmops: start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const code = await stopped;
  unsubscribe();
  return code;
}

runIfEntry(import.meta.url, () => main());
