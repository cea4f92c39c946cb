/**
 * `mmops contract` (`npm run contract` in a clone): runs the contract checks against the in-process sandbox, and with
 * `--url` also against a real Mattermost server, then prints both columns and the differences.
 *
 *   mmops contract
 *   mmops contract --url https://chat.example.com --admin-token … --user-token … [--scratch-team NAME]
 *
 * Tokens may also come from MMOPS_CONTRACT_ADMIN_TOKEN / MMOPS_CONTRACT_USER_TOKEN (kept out of
 * shell history). They are never printed. Exit status: 0 all good, 1 a check failed on the real
 * server (or on the sandbox alone), 2 bad usage or set-up, 130 interrupted (after cleaning up).
 */
import yargsParser from 'yargs-parser';
import { ALL_CHECKS } from './checks/index.js';
import { runSuite, type SuiteReport, type Target } from './runner.js';
import { startContractSandbox } from './sandbox-target.js';
import { differences, renderDifferences, renderTable, summarize } from './table.js';

const USAGE = `usage: mmops contract [--url URL --admin-token TOKEN --user-token TOKEN [--scratch-team NAME]
                      [--callback-url URL] [--callback-host HOST] [--callback-port PORT]
                      [--only id,id] [--json]]
       (npm run contract -- … in a clone)

Without --url: runs every check against the in-process sandbox.
--url              a real Mattermost server; the checks then run against both, side by side
--admin-token      the bot's access token (or MMOPS_CONTRACT_ADMIN_TOKEN)
--user-token       an ordinary user's token, the caller in permission checks (or MMOPS_CONTRACT_USER_TOKEN)
--scratch-team     team name: also run reversible writes inside that team (default: read-only)
--callback-url     URL at which the server reaches this machine for slash-command checks
--callback-host/-port  where the local listener binds (default 127.0.0.1, any free port)
--only             comma-separated check ids
--json             print the reports as JSON instead of the table`;

/** A usage problem: printed with the usage, exit status 2. */
class UsageProblem extends Error {}

function fail(message: string): never {
  throw new UsageProblem(message);
}

/** Runs the checks; resolves with the exit status (see the header). */
export async function runContract(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  try {
    return await contract(argv);
  } catch (err) {
    if (!(err instanceof UsageProblem)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    return 2;
  }
}

async function contract(argv: readonly string[]): Promise<number> {
  const args = yargsParser([...argv], {
    string: ['url', 'admin-token', 'user-token', 'scratch-team', 'callback-url', 'callback-host', 'only'],
    number: ['callback-port'],
    boolean: ['json', 'help'],
    configuration: { 'strip-dashed': true },
  });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const known = new Set(['_', 'url', 'adminToken', 'userToken', 'scratchTeam', 'callbackUrl', 'callbackHost', 'callbackPort', 'only', 'json', 'help']);
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

  // started before the signal handlers: an interrupt during start-up has nothing to undo
  const sandbox = await startContractSandbox();
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

  let sandboxReport: SuiteReport;
  let realReport: SuiteReport | undefined;
  try {
    sandboxReport = await runSuite(sandbox.target, ALL_CHECKS, { signal: controller.signal, only, onResult: progress('sandbox') });
    if (real && !controller.signal.aborted) {
      realReport = await runSuite(real, ALL_CHECKS, { signal: controller.signal, only, onResult: progress('real') });
    }
  } finally {
    await sandbox.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const checks = only ? ALL_CHECKS.filter((c) => only.includes(c.id)) : ALL_CHECKS;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ sandbox: sandboxReport, real: realReport }, null, 2)}\n`);
  } else {
    const out = [renderTable(checks, sandboxReport, realReport), '', summarize(sandboxReport)];
    if (realReport) {
      out.push(summarize(realReport));
      if (realReport.aborted) out.push(`real server run stopped: ${realReport.aborted}`);
      out.push('', renderDifferences(differences(checks, sandboxReport, realReport)));
    }
    for (const r of [sandboxReport, realReport]) {
      if (r && r.cleanupFailures.length > 0) out.push('', `cleanup problems on ${r.target} (check for leftovers):`, ...r.cleanupFailures.map((f) => `- ${f}`));
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }

  if (controller.signal.aborted) {
    process.stderr.write('interrupted; this run\'s writes were undone\n');
    return 130;
  }
  if (sandboxReport.aborted && !realReport) return 2;
  if (realReport?.aborted) return 2;
  const failed = (r: SuiteReport | undefined) => (r ? r.results.some((x) => x.status === 'fail') : false);
  return (realReport ? failed(realReport) : failed(sandboxReport)) ? 1 : 0;
}

