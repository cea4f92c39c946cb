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
import { createLogger } from '../log/logger.js';
import { createMemoryStateStore } from '../state/state-store.js';
import { startFakeMattermost, type FakeMattermost, type StartOptions } from './fake-server.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin.js';
import { SANDBOX_BOT_TOKEN } from './seed.js';

export interface Sandbox {
  fake: FakeMattermost;
  /** the first replica */
  bot: Bot;
  /** every replica (one unless `replicas` was given) */
  bots: Bot[];
  /** the round-robin proxy in front of the replicas' /slash (MMOPS_PUBLIC_URL), when several */
  proxy?: RoundRobinProxy;
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
  /**
   * how many bot replicas (default 1). Several share state (Redis when MMOPS_REDIS_URL is
   * set in the environment, else one in-process store) and sit behind a round-robin proxy.
   */
  replicas?: number;
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
  const replicas = Math.max(1, Math.floor(opts.replicas ?? 1));
  const proxy = replicas > 1 ? await startRoundRobinProxy() : undefined;
  const redisUrl = process.env.MMOPS_REDIS_URL;
  const env: Record<string, string> = {
    MM_URL: fake.url,
    MM_BOT_TOKEN: SANDBOX_BOT_TOKEN,
    MMOPS_LISTEN: '127.0.0.1:0',
    MMOPS_STATE_DIR: stateDir,
    LOG_LEVEL: opts.logLevel ?? 'info',
    ...(proxy ? { MMOPS_PUBLIC_URL: proxy.url, MMOPS_LEADER_LEASE_MS: '2000' } : {}),
    ...(proxy && redisUrl ? { MMOPS_REDIS_URL: redisUrl, MMOPS_REDIS_PREFIX: `mmops-demo-${process.pid}-${Date.now()}:` } : {}),
  };
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    await fake.close();
    await proxy?.close();
    rmSync(stateDir, { recursive: true, force: true });
    throw new SandboxError(`the sandbox configuration is invalid: ${loaded.problems.join('; ')}`);
  }
  const config = loaded.config;
  const logger = createLogger({ level: config.logLevel, destination, base: { app: 'mmops' } });
  // several replicas without Redis share one in-process store (as Redis would be shared)
  const shared = proxy && !redisUrl ? createMemoryStateStore() : undefined;
  const bots: Bot[] = [];
  for (let i = 0; i < replicas; i++) {
    bots.push(
      createBot(config, {
        ...opts.botDeps,
        logger: replicas > 1 ? logger.child({ replica: i + 1 }) : logger,
        ...(shared ? { state: shared, replicaId: `replica-${i + 1}` } : {}),
      }),
    );
  }
  const bot = bots[0] as Bot; // replicas >= 1

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        for (const b of bots) await b.stop();
        await shared?.close();
      } finally {
        await proxy?.close();
        await fake.close();
        destination.end();
        rmSync(stateDir, { recursive: true, force: true });
      }
    })();
    return closing;
  };

  try {
    for (const b of bots) {
      await b.start();
      await b.registered();
      proxy?.setTargets(bots.filter((x) => x.url).map((x) => x.url));
    }
  } catch (err) {
    await close();
    throw new SandboxError(`the bot did not start against the sandbox: ${err instanceof Error ? err.message : String(err)}`);
  }

  return {
    fake,
    bot,
    bots,
    ...(proxy ? { proxy } : {}),
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
