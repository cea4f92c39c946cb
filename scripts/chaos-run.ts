/**
 * Runs one chaos session from the command line (scripts/chaos-lib.ts) and prints the count:
 *
 *   npx tsx scripts/chaos-run.ts [--seconds 60] [--dms 500] [--mentions 200] [--replicas 1]
 *        [--faults wsDrop,hubRestart,sigterm,sigkill,rateStorm] [--seed N] [--dist|--tsx]
 *
 * Several replicas use Redis at REDIS_URL (default redis://127.0.0.1:6379) under a fresh prefix.
 * Exits 1 when a command was lost or answered twice.
 */
import { randomUUID } from 'node:crypto';
import { ALL_FAULTS, formatReport, runChaos, type FaultKind } from './chaos-lib.js';

const argv = process.argv.slice(2);
const value = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (flag: string, d: number): number => {
  const v = value(flag);
  return v === undefined ? d : Number(v);
};
const replicas = num('--replicas', 1);
const faults = (value('--faults')?.split(',') ?? [...ALL_FAULTS]).filter((f): f is FaultKind => (ALL_FAULTS as readonly string[]).includes(f));
const report = await runChaos({
  seconds: num('--seconds', 60),
  dms: num('--dms', 500),
  mentions: num('--mentions', 200),
  replicas,
  faults,
  ...(value('--seed') ? { seed: num('--seed', 0) } : {}),
  ...(replicas > 1 ? { redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', redisPrefix: `mmops-chaos:${randomUUID()}:` } : {}),
  entry: argv.includes('--dist') ? 'dist' : argv.includes('--tsx') ? 'tsx' : 'auto',
  keepLogs: argv.includes('--keep-logs'),
  progress: (l) => process.stderr.write(`${l}\n`),
});
console.log(formatReport(report));
process.exit(report.lost.length + report.doubled.length > 0 ? 1 : 0);
