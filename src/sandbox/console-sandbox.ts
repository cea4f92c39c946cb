/**
 * The local sandbox behind `npm run demo`: the fake Mattermost server (the one the test
 * suite uses) with the demo seed on loopback, and the real bot started against it by
 * {@link createBot} with a configuration read by {@link loadConfig}, exactly as
 * `npm start` does (WebSocket, slash-command registration, HTTP endpoint on a free
 * port). The bot's state directory is a temporary folder removed on close; its log
 * goes to a file there, so the console stays readable.
 *
 * @example
 *   const sandbox = await startSandbox();
 *   await sandbox.fake.executeSlash('alice', 'acme:town-square', '/whois @bob');
 *   await sandbox.close();
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createBot, type Bot, type BotDeps } from '../bot.js';
import { loadConfig, type Config, type LogLevel } from '../config.js';
import { createLogger } from '../core/logger.js';
import { startFakeMattermost, type FakeMattermost, type StartOptions } from './fake-server.js';
import { SANDBOX_BOT_TOKEN } from './seed.js';

export interface Sandbox {
  fake: FakeMattermost;
  bot: Bot;
  /** the configuration the bot runs with (as `npm start` would read it from the environment) */
  config: Config;
  /** the bot's temporary state directory (removed by close) */
  stateDir: string;
  /** the bot's log (JSON lines) */
  logFile: string;
  /** the last `n` log lines, oldest first */
  logTail(n: number): string[];
  /** stops the bot, then the server; removes the state directory. Idempotent. */
  close(): Promise<void>;
}

export interface SandboxOptions {
  /** LOG_LEVEL for the bot's log file (default info) */
  logLevel?: LogLevel;
  /** extra bot dependencies (tests: a short slow-reply threshold); none for the demo */
  botDeps?: Omit<BotDeps, 'logger'>;
  /** fake-server options (default: demo seed on 127.0.0.1, any free port) */
  server?: StartOptions;
}

/** Thrown when the sandbox cannot start; the message is for the person running the demo. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  readonly code = 'sandbox_start';
}

/** Starts the fake server and the bot on it (see the module comment). */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const fake = await startFakeMattermost({ seed: 'demo', ...opts.server });
  const stateDir = mkdtempSync(join(tmpdir(), 'mmops-demo-'));
  const logFile = join(stateDir, 'mmops.log');
  // synchronous writes: nothing is lost when the demo exits, and no handle stays open
  const destination = pino.destination({ dest: logFile, sync: true });
  const env = {
    MM_URL: fake.url,
    MM_BOT_TOKEN: SANDBOX_BOT_TOKEN,
    MMOPS_LISTEN: '127.0.0.1:0',
    MMOPS_STATE_DIR: stateDir,
    LOG_LEVEL: opts.logLevel ?? 'info',
  };
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    await fake.close();
    rmSync(stateDir, { recursive: true, force: true });
    throw new SandboxError(`the sandbox configuration is invalid: ${loaded.problems.join('; ')}`);
  }
  const config = loaded.config;
  const logger = createLogger({ level: config.logLevel, destination, base: { app: 'mmops' } });
  const bot = createBot(config, { ...opts.botDeps, logger });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await bot.stop();
      } finally {
        await fake.close();
        destination.end();
        rmSync(stateDir, { recursive: true, force: true });
      }
    })();
    return closing;
  };

  try {
    await bot.start();
  } catch (err) {
    await close();
    throw new SandboxError(`the bot did not start against the sandbox: ${err instanceof Error ? err.message : String(err)}`);
  }

  return {
    fake,
    bot,
    config,
    stateDir,
    logFile,
    logTail(n) {
      let text = '';
      try {
        text = readFileSync(logFile, 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').filter((l) => l !== '').slice(-Math.max(0, n));
    },
    close,
  };
}
