/**
 * `npm run bench`: "commands lost under chaos" (target 0, docs/benchmark.md). A short run of the
 * chaos harness (scripts/chaos-lib.ts): the bot as a real process, restarted by SIGTERM
 * and SIGKILL, its sockets dropped, the WebSocket hub restarted, 429 storms, while DMs
 * and mentions arrive; every command is counted from the sandbox's stored posts by the
 * command's post id.
 *
 * @example
 *   npm run bench -- --only chaos
 */
import { formatReport, runChaos } from './chaos-lib.js';
import type { BenchSection } from './bench-section.js';

export const chaosSection: BenchSection = {
  name: 'chaos',
  title: 'Commands under chaos (restarts, drops, hub restarts, 429 storms)',
  async run(ctx) {
    const scale = ctx.quick ? { seconds: 15, dms: 150, mentions: 50 } : { seconds: 30, dms: 300, mentions: 100 };
    ctx.progress(`chaos: ${scale.seconds} s, ${scale.dms} DMs + ${scale.mentions} mentions, one bot process restarted and cut off …`);
    const report = await runChaos({ ...scale, ...(ctx.compiled ? { entry: { dir: ctx.compiled } } : {}) });
    ctx.progress(formatReport(report));
    const stored = report.doubled.filter((d) => !d.ephemeral).length;
    const ephemeral = report.doubled.length - stored;
    return {
      targets: [
        {
          target: 'commands lost under chaos = 0 (and none answered twice)',
          measured: `${report.lost.length} lost, ${stored} doubled, of ${report.commands}`,
          pass: report.lost.length === 0 && stored === 0,
        },
      ],
      figures: [
        ['Commands (DMs + mentions)', `${report.commands} (${report.dms} + ${report.mentions})`],
        ['Answered once', String(report.answered)],
        ['Told once to send it again', String(report.resend)],
        ['Lost', String(report.lost.length)],
        ['Answered twice (stored answers)', String(stored)],
        ['Answered twice (a caller-only ephemeral answer sent right before a SIGKILL)', String(ephemeral)],
        ['Faults', Object.entries(report.faults).map(([k, n]) => `${k} ${n}`).join(', ')],
        ['Bot restarts (SIGKILL)', `${report.restarts} (${report.sigkills})`],
        ['Last answer after the faults stopped', `${(report.settleMs / 1000).toFixed(1)} s`],
      ],
      notes: [
        `${report.commands} DMs and mentions over ${scale.seconds} s from 8 users while the bot (a real process, state in MMOPS_STATE_DIR) was stopped by SIGTERM and SIGKILL and started again, its sockets dropped, the WebSocket hub restarted (dead queues lost) and the server's rate limiter answered 429; counted from the sandbox's stored posts by the command's post id (seed ${report.seed}).`,
      ],
      data: report,
    };
  },
};
