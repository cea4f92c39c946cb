/**
 * `mmops demo` (`npm run demo` in a clone): try mmops with no Mattermost server and no configuration. Starts the
 * sandbox (the fake Mattermost server with the demo workspace, and the real bot against
 * it, started the way `npm start` starts it) and opens the console.
 *
 *   mmops demo                                       interactive console
 *   mmops demo --script docs/walkthrough.txt         run a script; exit 1 if a line is not as expected
 *   mmops demo --walkthrough                         run the walkthrough the package carries
 *   echo '/whois @bob' | mmops demo                  lines on stdin are run as a script
 *
 * Exit codes: 0 = quit, or every script line as expected; 1 = a script line was not as
 * expected, or the sandbox did not start; 2 = bad arguments; 129/130/143 = stopped by
 * SIGHUP/SIGINT/SIGTERM (after a clean shutdown).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { resolve } from 'node:path';
import { packageRoot } from '../package-info.js';
import { createConsole } from './console.js';
import { startSandbox, type Sandbox } from './console-sandbox.js';

const USAGE = `Usage: mmops demo [options]        (npm run demo [-- options] in a clone)

Starts a sandbox Mattermost server with a small workspace, the mmops bot against it, and a
console where you type as someone in that workspace (type help inside).

Options:
  --script FILE      run the lines of FILE (see docs/walkthrough.txt), then exit:
                     0 when every line went as expected, 1 otherwise
  --walkthrough      run the README walkthrough (docs/walkthrough.txt in the package)
  --as USER          start as USER (default alice)
  --in CHANNEL       start in CHANNEL, team:channel or @user (default acme:town-square)
  --timeout SECONDS  how long to wait for each answer (default 10)
  --server-version V behave as Mattermost V (e.g. 5.37, 9.10; default 10.5): missing
                     endpoints, error answers and event shapes of that release
                     (docs/compatibility.md)
  --replicas N       run N bot replicas (1-5) behind a round-robin proxy for /slash,
                     sharing state (Redis if MMOPS_REDIS_URL is set, else in-process):
                     each DM and mention is still answered once
  --no-color         no colours (also NO_COLOR=1; colours are only used on a terminal)
  --help             this text

Lines on a non-terminal stdin are run as a script, e.g. echo '/whois @bob' | mmops demo`;

const argsSchema = z.object({
  script: z.string().min(1, '--script needs a file').optional(),
  walkthrough: z.boolean().optional(),
  as: z
    .string()
    .regex(/^@?[a-z0-9][a-z0-9._-]*$/i, '--as needs a username, e.g. --as dave')
    .optional(),
  in: z.string().min(1, '--in needs a channel, e.g. --in ops:town-square').optional(),
  timeout: z.coerce.number({ message: '--timeout needs a number of seconds' }).positive('--timeout needs a positive number of seconds').max(600, '--timeout is at most 600 seconds').optional(),
  'no-color': z.boolean().optional(),
  'server-version': z
    .string()
    .regex(/^\d+\.\d+(\.\d+)?$/, '--server-version needs a release, e.g. --server-version 5.37')
    .optional(),
  replicas: z.coerce.number({ message: '--replicas needs a number' }).int('--replicas needs a whole number').min(1, '--replicas is 1 to 5').max(5, '--replicas is 1 to 5').optional(),
  help: z.boolean().optional(),
});

type DemoArgs = z.infer<typeof argsSchema>;

/** The walkthrough the README shows, shipped in the package. */
const WALKTHROUGH = 'docs/walkthrough.txt';

/** Parses the command line; a string is the problem to print. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs | string {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: {
        script: { type: 'string' },
        walkthrough: { type: 'boolean' },
        as: { type: 'string' },
        in: { type: 'string' },
        timeout: { type: 'string' },
        'no-color': { type: 'boolean' },
        replicas: { type: 'string' },
        'server-version': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? 'invalid arguments';
  if (parsed.data.walkthrough && parsed.data.script !== undefined) return '--walkthrough and --script are one or the other';
  return parsed.data.walkthrough ? { ...parsed.data, script: resolve(packageRoot(), WALKTHROUGH) } : parsed.data;
}

/** Runs the demo; resolves with the exit code. */
export async function runDemo(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const args = parseDemoArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`demo: ${args}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let script: { name: string; text: string } | undefined;
  if (args.script) {
    try {
      script = { name: args.script, text: readFileSync(args.script, 'utf8') };
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      process.stderr.write(`demo: cannot read ${args.script}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}\n`);
      return 2;
    }
  }
  const interactive = !script && process.stdin.isTTY === true;
  const color = !args['no-color'] && process.stdout.isTTY === true && !process.env.NO_COLOR;

  if (interactive) process.stdout.write('Starting the sandbox server and the bot…\n');
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      logLevel: 'info',
      ...(args.replicas !== undefined ? { replicas: args.replicas } : {}),
      ...(args['server-version'] ? { server: { version: args['server-version'] } } : {}),
    });
  } catch (err) {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  // a signal (Ctrl-C outside the prompt, kill) stops everything cleanly
  let interrupted = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143;
    void sandbox.close().then(() => process.exit(interrupted));
  };
  // (SIGHUP: the terminal went away)
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.once(s, onSignal);

  let code = 0;
  try {
    const con = createConsole({
      sandbox,
      output: process.stdout,
      color,
      ...(args.timeout !== undefined ? { replyTimeoutMs: args.timeout * 1000 } : {}),
    });
    // --as / --in go through the console's own checks
    for (const [flag, line] of [
      ['--as', args.as ? `as ${args.as}` : ''],
      ['--in', args.in ? `in ${args.in}` : ''],
    ] as const) {
      if (!line) continue;
      const r = await con.run(line);
      if (r.verdict === 'error') {
        process.stderr.write(`demo: ${flag}: ${r.problem ?? 'invalid'}\n`);
        return 2;
      }
    }
    if (interactive) {
      con.banner();
      await con.interact(process.stdin);
      process.stdout.write('Stopping the bot and the sandbox…\n');
    } else {
      const text = script?.text ?? readFileSync(0, 'utf8');
      const where = sandbox.proxy ? `${sandbox.bots.length} bot replicas behind ${sandbox.proxy.url} (${sandbox.bots.map((b) => b.url).join(', ')})` : `bot at ${sandbox.bot.url}`;
      process.stdout.write(`mmops sandbox: Mattermost ${sandbox.fake.profile.version} at ${sandbox.fake.url}, ${where}\n\n`);
      const report = await con.runScript(text, { name: script?.name ?? 'stdin' });
      code = report.exitCode;
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await sandbox.close();
  }
  return interrupted || code;
}

/**
 * Runs the demo as the process (`mmops demo`): sets the exit code when done, and exits anyway
 * if something still holds the process open 3 s after the shutdown.
 */
export function runDemoProcess(argv: readonly string[] = process.argv.slice(2)): void {
  // a closed terminal or pipe must not crash the shutdown: there is nobody left to tell
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  runDemo(argv).then(
    (code) => {
      process.exitCode = code;
      // everything is closed by now; if something still holds the process open, say so and go
      setTimeout(() => {
        process.stderr.write('demo: something was still running after shutdown; exiting anyway\n');
        process.exit(code);
      }, 3_000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** True when this file is the process entry (`tsx src/sandbox/demo.ts`). */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) runDemoProcess();
