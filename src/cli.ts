#!/usr/bin/env node
/**
 * The `mmops` command of the installed package (package.json `bin`), and what every `npm run`
 * script of a clone calls:
 *
 *   mmops                 the bot (npm start); settings from the environment, see --help
 *   mmops demo …          the sandbox console (npm run demo)
 *   mmops contract …      the wire checks against the sandbox, and --url a real server (npm run contract)
 *   mmops manifest        the manifest as JSON on stdout (npm run manifest writes manifest.json)
 *   mmops healthcheck     exit 0 when this host's bot answers GET /healthz (the image's HEALTHCHECK)
 *   mmops --version       the version
 *   mmops --help          this overview and every setting
 *
 * Each subcommand is loaded only when asked for, so `mmops --version` does not load the bot.
 */
import { configHelp } from './config.js';
import { runIfEntry } from './log/process-entry.js';
import { packageInfo } from './package-info.js';

/** What a subcommand does when it runs as the process. */
type Run = (argv: string[]) => Promise<number | undefined>;

const SUBCOMMANDS: Record<string, Run> = {
  demo: async (argv) => {
    const { runDemoProcess } = await import('./sandbox/demo.js');
    runDemoProcess(argv); // sets the exit code itself when the console is done
    return undefined;
  },
  contract: async (argv) => (await import('./contract/cli.js')).runContract(argv),
  healthcheck: async (argv) => {
    if (argv.some((a) => a !== '--')) {
      process.stderr.write('mmops healthcheck: takes no arguments; it reads MMOPS_OPS_LISTEN or MMOPS_LISTEN\n');
      return 2;
    }
    return (await import('./healthcheck.js')).runHealthcheck();
  },
  manifest: async (argv) => {
    if (argv.some((a) => a !== '--')) {
      process.stderr.write('mmops manifest: takes no arguments; it prints the manifest as JSON\n');
      return 2;
    }
    process.stdout.write((await import('./manifest.js')).manifestText());
    return 0;
  },
};

/** `mmops --help`: the subcommands, then the settings of the bot. */
export function cliHelp(): string {
  return configHelp().replace(/^mmops: [^\n]*/, `mmops ${packageInfo().version}: a Mattermost operations bot`);
}

/** Runs `mmops argv…`; resolves with the exit code, or undefined when the subcommand sets it itself. */
export async function runCli(argv: readonly string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`${packageInfo().version}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(cliHelp());
    return 0;
  }
  const sub = first === undefined ? undefined : SUBCOMMANDS[first];
  if (sub) return sub(rest);
  if (first !== undefined && !first.startsWith('-')) {
    process.stderr.write(`mmops: unknown command ${JSON.stringify(first)}; the commands are demo, contract, manifest, healthcheck (see mmops --help)\n`);
    return 2;
  }
  const { main } = await import('./main.js');
  return main([...argv]);
}

runIfEntry(import.meta.url, () => runCli(process.argv.slice(2)));
