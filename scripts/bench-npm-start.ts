/**
 * `npm run bench`, section `npm-start`: RSS after 100,000 commands with
 * `npm start`'s defaults. The compiled `src/main.js` runs as its own process exactly as
 * `npm start` runs it — the NODE_OPTIONS of package.json's start script (the 64 MB
 * old-space cap) with an empty caller NODE_OPTIONS, configuration from the environment,
 * LOG_LEVEL=info — and its RSS is read from outside (/proc/<pid>/status: VmRSS, and
 * VmHWM for the peak).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { SANDBOX_BOT_TOKEN } from '../src/sandbox/seed.js';
import { buildForBench, fmt, ROOT, runLoad } from './bench-lib.js';
import { anySchema, commandsSchema, freePort, MB, pollUntil, procMemory, slashTarget, startFakeChild, type BenchSection } from './bench-section.js';

const RSS_TARGET_MB = 150;

/** The NODE_OPTIONS `npm start` sets when the caller sets none (package.json "start"). */
export function npmStartNodeOptions(root: string): string {
  const pkg = z.object({ scripts: z.object({ start: z.string() }) }).parse(JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')));
  const m = /NODE_OPTIONS="([^"]*)"/.exec(pkg.scripts.start);
  return (m?.[1] ?? '').replace('$NODE_OPTIONS', '').trim();
}

/** Starts `node <compiled>/src/main.js` with a clean environment; its log goes to `logFile`. */
function startMain(compiled: string, env: Record<string, string>, logFile: string): ChildProcess {
  const out = openSync(logFile, 'a');
  const base = Object.fromEntries(['PATH', 'HOME', 'LANG', 'TZ'].flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k] ?? '']] : [])));
  return spawn(process.execPath, [join(compiled, 'src/main.js')], { env: { ...base, ...env }, stdio: ['ignore', out, out] });
}

async function readyz(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`);
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export const npmStartSection: BenchSection = {
  name: 'npm-start',
  title: 'Memory under `npm start` defaults (the real process)',
  async run(ctx) {
    const commands = ctx.quick ? 10_000 : 100_000;
    const compiled = ctx.compiled ?? (await buildForBench());
    const nodeOptions = npmStartNodeOptions(ROOT);
    const fake = await startFakeChild(ctx, 'npm-start');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = startMain(
      compiled,
      {
        MM_URL: fake.url,
        MM_BOT_TOKEN: SANDBOX_BOT_TOKEN,
        MMOPS_LISTEN: `127.0.0.1:${port}`,
        LOG_LEVEL: 'info',
        MMOPS_STATE_DIR: mkdtempSync(join(ctx.runDir, 'state-')),
        NODE_OPTIONS: nodeOptions,
      },
      join(ctx.runDir, 'npm-start.log'),
    );
    const exited = new Promise<void>((res) => proc.once('exit', () => res()));
    try {
      const pid = proc.pid ?? 0;
      await pollUntil('the npm start bot ready (/readyz)', async () => ((await readyz(url)) ? true : undefined), 60_000, 200);
      const target = await pollUntil(
        'its slash commands registered',
        async () => {
          try {
            return slashTarget(ctx, fake, await fake.child.call('commands', null, commandsSchema), 'mmops', 'alice', `${url}/slash`);
          } catch {
            return undefined;
          }
        },
        60_000,
        200,
      );
      const atReady = procMemory(pid);
      await runLoad({ target, texts: ['status @bob'], concurrency: 16, count: 1_000 });
      const before = procMemory(pid);
      ctx.progress(`npm start (NODE_OPTIONS="${nodeOptions}"): RSS ${fmt(MB(before?.rss ?? 0))} MB after 1,000 warm-up commands; ${commands.toLocaleString('en-US')} more …`);
      // RSS every 500 ms: when the peak happens (VmHWM only says how high)
      const samples: Array<{ s: number; rss: number }> = [];
      const t0 = performance.now();
      const sampler = setInterval(() => {
        samples.push({ s: Math.round((performance.now() - t0) / 100) / 10, rss: procMemory(pid)?.rss ?? 0 });
      }, 500);
      const run = await runLoad({
        target,
        texts: ['status @bob'],
        concurrency: 64,
        count: commands,
        onProgress: (n) => {
          if (n % 50_000 === 0) ctx.progress(`npm start: ${n.toLocaleString('en-US')} commands, RSS ${fmt(MB(procMemory(pid)?.rss ?? 0))} MB`);
          void fake.child.call('mark', null, anySchema); // keeps the fake's request log small
        },
      });
      clearInterval(sampler);
      const top = samples.reduce((m, x) => (x.rss > m.rss ? x : m), { s: 0, rss: 0 });
      const runS = Math.round((performance.now() - t0) / 1000);
      const after = procMemory(pid);
      await sleep(2_000);
      const settled = procMemory(pid);
      const rssAfter = after?.rss ?? 0;
      ctx.progress(`npm start: RSS ${fmt(MB(rssAfter))} MB after ${run.count.toLocaleString('en-US')} commands (${fmt(run.perSecond)}/s, ${run.errors} errors); peak ${fmt(MB(after?.peak ?? 0))} MB`);
      return {
        targets: [
          {
            // the target "RSS stays under 150 MB after 100,000 commands" (docs/benchmark.md): the end and the run's highest sample
            target: `RSS < ${RSS_TARGET_MB} MB through ${commands.toLocaleString('en-US')} commands, \`npm start\` defaults`,
            measured: `${fmt(MB(rssAfter))} MB at the end, ${fmt(MB(top.rss))} MB at most during the run (VmHWM ${fmt(MB(after?.peak ?? 0))} MB)`,
            pass: rssAfter > 0 && Math.max(rssAfter, top.rss) < RSS_TARGET_MB * 2 ** 20,
          },
        ],
        figures: [
          ['NODE_OPTIONS (package.json "start", caller\'s empty)', nodeOptions || '(none)'],
          ['RSS when ready', `${fmt(MB(atReady?.rss ?? 0))} MB`],
          ['RSS after 1,000 warm-up commands', `${fmt(MB(before?.rss ?? 0))} MB`],
          [`RSS after ${run.count.toLocaleString('en-US')} more commands (64 callers)`, `${fmt(MB(rssAfter))} MB`],
          ['RSS 2 s later (idle)', `${fmt(MB(settled?.rss ?? 0))} MB`],
          ['Highest RSS sampled during the run (every 0.5 s)', `${fmt(MB(top.rss))} MB, ${fmt(top.s)} s into the ${runS} s run`],
          ['Peak RSS of the process (VmHWM, start-up included)', `${fmt(MB(after?.peak ?? 0))} MB`],
          ['Rate during the run', `${fmt(run.perSecond)}/s, p99 ${fmt(run.p99)} ms, ${run.errors} errors, ${run.slow} slow`],
        ],
        notes: [
          'The compiled src/main.js runs as its own process with the environment `npm start` gives it (NODE_OPTIONS from package.json\'s start script, nothing else added, no IPC), and its RSS is read from /proc/<pid>/status (VmRSS; VmHWM is the peak). The load is `/mmops status @bob` from 64 callers.',
        ],
        data: { nodeOptions, commands: run.count, atReady, before, after, settled, top, runS, samples: samples.filter((_, i) => i % 10 === 0), run },
      };
    } finally {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      await ctx.stop(fake.child);
    }
  },
};
