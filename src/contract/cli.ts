/**
 * `mmops contract` (`npm run contract` in a clone): runs the contract checks against the in-process sandbox, and with
 * `--url` also against a real Mattermost server, then prints both columns and the differences.
 *
 *   mmops contract
 *   mmops contract --url https://chat.example.com --admin-token … --user-token … [--scratch-team NAME]
 *   mmops contract --url … --admin-token … --user-token … --scratch-team NAME --e2e [--bot-url URL]
 *
 * `--e2e` adds the end-to-end part (src/contract/e2e.ts): the real bot as a process against
 * the server, used as the user; without `--url` it runs against the sandbox.
 *
 * Tokens may also come from MMOPS_CONTRACT_ADMIN_TOKEN / MMOPS_CONTRACT_USER_TOKEN (kept out of
 * shell history). They are never printed. Exit status: 0 all good, 1 a check failed on the real
 * server (or on the sandbox alone), 2 bad usage or set-up, 130 interrupted (after cleaning up).
 */
import yargsParser from 'yargs-parser';
import { ALL_CHECKS } from './checks/index.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { E2E_STEPS, runEndToEnd, type E2ETarget } from './e2e.js';
import { runSuite, type SuiteReport, type Target } from './runner.js';
import { CONTRACT_E2E_USER, startContractSandbox } from './sandbox-target.js';
import { SANDBOX_BOT_TOKEN, tokenFor } from '../sandbox/seed.js';
import { differences, renderDifferences, renderTable, summarize } from './table.js';

const USAGE = `usage: mmops contract [--url URL --admin-token TOKEN --user-token TOKEN [--scratch-team NAME]
                      [--callback-url URL] [--callback-host HOST] [--callback-port PORT]
                      [--only id,id] [--json]
                      [--e2e [--bot-url URL] [--bot-listen HOST:PORT]]]
       (npm run contract -- … in a clone)

Without --url: runs every check against the in-process sandbox.
--url              a real Mattermost server; the checks then run against both, side by side
--admin-token      the bot's access token (or MMOPS_CONTRACT_ADMIN_TOKEN)
--user-token       an ordinary user's token, the caller in permission checks (or MMOPS_CONTRACT_USER_TOKEN)
--scratch-team     team name: also run reversible writes inside that team (default: read-only)
--callback-url     URL at which the server reaches this machine for slash-command checks
--callback-host/-port  where the local listener binds (default 127.0.0.1, any free port)
--only             comma-separated check ids
--json             print the reports as JSON instead of the table
--e2e              also run the bot end to end: start it as a process with the admin (bot) token
                   and, as the --user-token user: a DM, a mention, a slash command, a refusal,
                   a Confirm click, a DM across a restart (needs --scratch-team and --user-token
                   with --url; against the sandbox without --url). Everything it made is removed.
--bot-url          the bot's address as the server reaches it, for slash commands and clicks
                   (default http://<bot-listen>)
--bot-listen       where the bot listens (default 127.0.0.1 and a free port)
--server-version   the release the sandbox plays (e.g. 5.37; default: the real server's, else 10.5)`;

class UsageError extends Error {}
function fail(message: string): never {
  throw new UsageError(message);
}

/**
 * `npm run contract` as a function (also `mmops contract`): `argv` without the program
 * name; resolves with the exit status. Usage problems are printed with the usage text (2).
 */
export async function runContract(argv: readonly string[]): Promise<number> {
  try {
    return await contract(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    return 2;
  }
}

async function contract(argv: readonly string[]): Promise<number> {
  const args = yargsParser([...argv], {
    string: ['url', 'admin-token', 'user-token', 'scratch-team', 'callback-url', 'callback-host', 'only', 'bot-url', 'bot-listen', 'server-version'],
    number: ['callback-port'],
    boolean: ['json', 'help', 'e2e'],
    configuration: { 'strip-dashed': true },
  });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const known = new Set(['_', 'url', 'adminToken', 'userToken', 'scratchTeam', 'callbackUrl', 'callbackHost', 'callbackPort', 'only', 'json', 'help', 'e2e', 'botUrl', 'botListen', 'serverVersion']);
  const unknown = Object.keys(args).filter((k) => !known.has(k));
  if (unknown.length > 0) fail(`unknown option(s): ${unknown.map((k) => `--${k}`).join(', ')}`);
  const only = typeof args.only === 'string' && args.only ? args.only.split(',').map((s: string) => s.trim()) : undefined;
  if (only) {
    const ids = new Set(ALL_CHECKS.map((c) => c.id));
    const bad = only.filter((id) => !ids.has(id));
    if (bad.length > 0) fail(`unknown check id(s): ${bad.join(', ')}`);
  }

  let real: Target | undefined;
  if (args.url !== undefined) {
    const url = String(args.url);
    if (!/^https?:\/\/[^/]+/.test(url)) fail('--url must be an http(s) URL');
    const adminToken = String(args.adminToken ?? process.env.MMOPS_CONTRACT_ADMIN_TOKEN ?? '');
    const userToken = String(args.userToken ?? process.env.MMOPS_CONTRACT_USER_TOKEN ?? '');
    if (!adminToken || !userToken) fail('--url needs --admin-token and --user-token (or the MMOPS_CONTRACT_* variables)');
    real = {
      name: url,
      url,
      adminToken,
      userToken,
      scratchTeam: typeof args.scratchTeam === 'string' && args.scratchTeam ? args.scratchTeam : undefined,
      callback: {
        host: typeof args.callbackHost === 'string' ? args.callbackHost : undefined,
        port: typeof args.callbackPort === 'number' ? args.callbackPort : undefined,
        publicUrl: typeof args.callbackUrl === 'string' ? args.callbackUrl : undefined,
      },
    };
  } else if (args.adminToken || args.userToken || args.scratchTeam) {
    fail('--admin-token, --user-token and --scratch-team need --url');
  }
  const e2e = args.e2e === true;
  if (e2e && real && !real.scratchTeam) fail('--e2e needs --scratch-team (a team the bot and the user are both members of)');
  if (!e2e && (args.botUrl || args.botListen)) fail('--bot-url and --bot-listen go with --e2e');
  if (args.botListen !== undefined && !/^[^\s:]+:\d{1,5}$/.test(String(args.botListen))) fail('--bot-listen must be HOST:PORT');
  if (args.botUrl !== undefined && !/^https?:\/\/[^/]+/.test(String(args.botUrl))) fail('--bot-url must be an http(s) URL');
  const serverVersion = typeof args.serverVersion === 'string' && args.serverVersion ? args.serverVersion : undefined;
  if (serverVersion && !/^\d+\.\d+(\.\d+)?$/.test(serverVersion)) fail('--server-version needs a release, e.g. 5.37');

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) {
      process.stderr.write(`${sig} again: exiting without finishing the cleanup\n`);
      process.exit(130);
    }
    process.stderr.write(`${sig}: stopping after undoing this run's writes…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = (label: string) => (r: { id: string; status: string }) => {
    if (!args.json) process.stderr.write(`  [${label}] ${r.status.padEnd(4)} ${r.id}\n`);
  };

  // the sandbox plays the real server's release when one is given (src/sandbox/versions.ts)
  const realVersion = real && !serverVersion ? await versionOf(real.url) : undefined;
  const sandbox = await startContractSandbox({ ...(serverVersion ?? realVersion ? { version: serverVersion ?? realVersion } : {}) });
  let sandboxReport: SuiteReport;
  let realReport: SuiteReport | undefined;
  let e2eReport: SuiteReport | undefined;
  try {
    sandboxReport = await runSuite(sandbox.target, ALL_CHECKS, { signal: controller.signal, only, onResult: progress('sandbox') });
    if (real && !controller.signal.aborted) {
      realReport = await runSuite(real, ALL_CHECKS, { signal: controller.signal, only, onResult: progress('real') });
    }
    if (e2e && !controller.signal.aborted) {
      const t: E2ETarget = real
        ? { name: real.name, url: real.url, botToken: real.adminToken, userToken: real.userToken, scratchTeam: real.scratchTeam ?? '' }
        : { name: 'sandbox', url: sandbox.fake.url, botToken: SANDBOX_BOT_TOKEN, userToken: tokenFor(CONTRACT_E2E_USER), scratchTeam: sandbox.target.scratchTeam ?? '' };
      if (typeof args.botUrl === 'string') t.botUrl = args.botUrl;
      if (typeof args.botListen === 'string') t.botListen = args.botListen;
      e2eReport = await runEndToEnd(t, { signal: controller.signal, onResult: progress(real ? 'real e2e' : 'sandbox e2e') });
    }
  } finally {
    await sandbox.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const checks = only ? ALL_CHECKS.filter((c) => only.includes(c.id)) : ALL_CHECKS;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ sandbox: sandboxReport, real: realReport, e2e: e2eReport }, null, 2)}\n`);
  } else {
    const out = [renderTable(checks, sandboxReport, realReport), '', summarize(sandboxReport)];
    if (realReport) {
      out.push(summarize(realReport));
      if (realReport.aborted) out.push(`real server run stopped: ${realReport.aborted}`);
      out.push('', renderDifferences(differences(checks, sandboxReport, realReport)));
    }
    if (e2eReport) {
      out.push('', `end to end on ${e2eReport.target}:`, renderTable(E2E_STEPS, e2eReport), '', summarize(e2eReport));
      if (e2eReport.aborted) out.push(`end-to-end run stopped: ${e2eReport.aborted}`);
    }
    for (const r of [sandboxReport, realReport, e2eReport]) {
      if (r && r.cleanupFailures.length > 0) out.push('', `cleanup problems on ${r.target} (check for leftovers):`, ...r.cleanupFailures.map((f) => `- ${f}`));
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }

  if (controller.signal.aborted) {
    process.stderr.write('interrupted; this run\'s writes were undone\n');
    return 130;
  }
  if (sandboxReport.aborted && !realReport) return 2;
  if (realReport?.aborted || e2eReport?.aborted) return 2;
  const failed = (r: SuiteReport | undefined) => (r ? r.results.some((x) => x.status === 'fail') : false);
  return (realReport ? failed(realReport) : failed(sandboxReport)) || failed(e2eReport) ? 1 : 0;
}

/** The release in the server's X-Version-Id (`a.b`), undefined when it does not answer. */
async function versionOf(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/api/v4/system/ping`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return /^(\d+\.\d+)\./.exec(res.headers.get('x-version-id') ?? '')?.[1];
  } catch {
    return undefined;
  }
}

/** True when this file is the process entry (`tsx src/contract/cli.ts`). */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  runContract(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`contract: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
