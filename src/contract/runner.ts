/**
 * Runs the contract checks against one target (the in-process sandbox or a real server):
 * sets up the clients and the accounts, runs each check with its own undo stack, sweeps
 * leftovers of interrupted runs, and stops cleanly (undo steps included) when aborted.
 */
import { z } from 'zod';
import { createRestApi } from '../mattermost/rest-api.js';
import { channelSchema, teamSchema, userSchema, type Channel, type Team, type User } from '../mattermost/models.js';
import { startCallbackServer, type CallbackServer } from './callback.js';
import { createHttpClient, statusLine, type HttpClient } from './http.js';
import { ContractFailure, type Check, type CheckContext, type CheckResult, type Outcome } from './types.js';

/** The message of every post with buttons a scratch check makes, so a later run can sweep it. */
export const SCRATCH_POST_MESSAGE = 'mmops contract check (buttons), please ignore';
/** Names of everything a scratch check creates start with this, so a later run can sweep it. */
export const SCRATCH_PREFIX = 'mmops-contract-';
export const SCRATCH_PREF_CATEGORY = 'mmops_contract';

export interface Target {
  /** 'sandbox' or the server URL (for the table) */
  name: string;
  url: string;
  adminToken: string;
  userToken: string;
  /** team name; reversible writes happen only when set */
  scratchTeam?: string;
  callback?: { host?: string; port?: number; publicUrl?: string };
}

export interface SuiteReport {
  target: string;
  /** X-Version-Id of the server, '' when unreachable */
  version: string;
  results: CheckResult[];
  /** undo steps that failed (each one an artefact possibly left behind) */
  cleanupFailures: string[];
  /** set when the run stopped early (interrupted, or set-up failed) */
  aborted?: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** only these check ids (default: all) */
  only?: readonly string[];
  /** called after each check (progress output) */
  onResult?: (r: CheckResult, check: Check) => void;
  /** ms per check before it counts as failed (default 60 000) */
  checkTimeoutMs?: number;
}

export async function runSuite(target: Target, checks: readonly Check[], opts: RunOptions = {}): Promise<SuiteReport> {
  const outer = opts.signal ?? new AbortController().signal;
  const report: SuiteReport = { target: target.name, version: '', results: [], cleanupFailures: [] };
  // Requests made while undoing must still go out after an interrupt: they use this signal.
  const holder = { signal: outer };
  const signalOf = () => holder.signal;
  const mk = (token: string, label: string): HttpClient => createHttpClient(target.url, token, label, signalOf);
  const admin = mk(target.adminToken, 'admin');
  const user = mk(target.userToken, 'user');
  const anon = mk('', 'anonymous');
  let callback: CallbackServer | undefined;
  const undo: Array<{ label: string; fn: () => Promise<void> }> = [];

  const runUndo = async (): Promise<void> => {
    holder.signal = AbortSignal.timeout(30_000);
    while (undo.length > 0) {
      const step = undo.pop()!;
      try {
        await step.fn();
      } catch (err) {
        report.cleanupFailures.push(`${step.label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    holder.signal = outer;
  };

  try {
    const me = await admin.get('/users/me');
    report.version = me.headers.get('x-version-id') ?? '';
    const adminUser = parseOrThrow(me.json, userSchema, `admin token: GET /users/me → ${statusLine(me)}`);
    const callerAnswer = await user.get('/users/me');
    const callerUser = parseOrThrow(callerAnswer.json, userSchema, `user token: GET /users/me → ${statusLine(callerAnswer)}`);
    if (callerUser.id === adminUser.id) throw new Error('--admin-token and --user-token belong to the same account; give an ordinary user for --user-token');

    const adminTeams = parseOrThrow((await admin.get(`/users/${adminUser.id}/teams`)).json, z.array(teamSchema), 'teams of the bot');
    const callerTeams = parseOrThrow((await user.get(`/users/${callerUser.id}/teams`)).json, z.array(teamSchema), 'teams of the user');
    let scratch: { team: Team } | undefined;
    if (target.scratchTeam) {
      const t = adminTeams.find((x) => x.name === target.scratchTeam);
      if (!t) throw new Error(`--scratch-team ${target.scratchTeam}: no such team, or the admin account is not a member of it`);
      scratch = { team: t };
    }
    const shared = adminTeams.filter((t) => callerTeams.some((c) => c.id === t.id));
    const team: Team | undefined = shared.find((t) => t.id === scratch?.team.id) ?? shared[0];
    let channel: Channel | undefined;
    if (team) {
      const chans = z.array(channelSchema).safeParse((await user.get(`/users/${callerUser.id}/teams/${team.id}/channels`)).json);
      const list = chans.success ? chans.data : [];
      channel = list.find((c) => c.name === 'town-square') ?? list.find((c) => c.type === 'O');
    }
    callback = await startCallbackServer(target.callback);
    const adminApi = createRestApi({ url: target.url, token: target.adminToken, readRetries: 0 });

    const base = { url: target.url, version: report.version, admin, user, anon, adminApi, adminUser, callerUser, team, channel, scratch, callback };
    if (scratch) await sweep(admin, adminUser, scratch.team, report);

    const wanted = opts.only ? checks.filter((c) => opts.only?.includes(c.id)) : checks;
    for (const check of wanted) {
      if (outer.aborted) break;
      const started = Date.now();
      let outcome: Outcome;
      if (check.kind === 'scratch' && !scratch) {
        outcome = { status: 'skip', detail: 'writes: needs --scratch-team' };
      } else {
        const ctx: CheckContext = {
          ...base,
          onCleanup: (label, fn) => undo.push({ label: `${check.id}: ${label}`, fn }),
          signal: outer,
        };
        outcome = await runOne(check, ctx, opts.checkTimeoutMs ?? 60_000, outer);
        await runUndo();
      }
      if (outer.aborted && outcome.status === 'fail') outcome = { status: 'skip', detail: 'interrupted' };
      const result: CheckResult = { id: check.id, status: outcome.status, detail: outcome.detail, ms: Date.now() - started };
      report.results.push(result);
      opts.onResult?.(result, check);
    }
    if (scratch) {
      holder.signal = AbortSignal.timeout(30_000);
      await sweep(admin, adminUser, scratch.team, report);
      holder.signal = outer;
    }
    if (outer.aborted) report.aborted = 'interrupted';
  } catch (err) {
    await runUndo();
    report.aborted = outer.aborted ? 'interrupted' : err instanceof Error ? err.message : String(err);
  } finally {
    await callback?.close();
  }
  return report;
}

async function runOne(check: Check, ctx: CheckContext, timeoutMs: number, outer: AbortSignal): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'fail', detail: `no result within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
  });
  let onAbort = () => {};
  const aborted = new Promise<Outcome>((resolve) => {
    onAbort = () => resolve({ status: 'skip', detail: 'interrupted' });
    if (outer.aborted) onAbort();
    outer.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      check.run(ctx).catch((err: unknown): Outcome => {
        if (err instanceof ContractFailure) return { status: 'fail', detail: err.message };
        return { status: 'fail', detail: `error: ${err instanceof Error ? err.message : String(err)}` };
      }),
      timeout,
      aborted,
    ]);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', onAbort);
  }
}

/** Deletes what an interrupted earlier run may have left: commands and preferences with our prefix. */
async function sweep(admin: HttpClient, adminUser: User, team: Team, report: SuiteReport): Promise<void> {
  try {
    const list = z
      .array(z.object({ id: z.string(), trigger: z.string(), creator_id: z.string().optional() }))
      .safeParse((await admin.get('/commands', { team_id: team.id, custom_only: true })).json);
    for (const c of list.success ? list.data : []) {
      if (c.trigger.startsWith(SCRATCH_PREFIX)) await admin.del(`/commands/${c.id}`);
    }
    const prefs = z
      .array(z.object({ user_id: z.string(), category: z.string(), name: z.string(), value: z.string() }))
      .safeParse((await admin.get(`/users/${adminUser.id}/preferences/${SCRATCH_PREF_CATEGORY}`)).json);
    if (prefs.success && prefs.data.length > 0) await admin.post(`/users/${adminUser.id}/preferences/delete`, prefs.data);
    // posts with buttons the action checks made (the bot's own, in town-square, exact message)
    const town = z.object({ id: z.string() }).safeParse((await admin.get(`/teams/${team.id}/channels/name/town-square`)).json);
    if (town.success) {
      const posts = z
        .object({ posts: z.record(z.string(), z.object({ id: z.string(), user_id: z.string(), message: z.string() })) })
        .safeParse((await admin.get(`/channels/${town.data.id}/posts`, { page: 0, per_page: 200 })).json);
      for (const p of posts.success ? Object.values(posts.data.posts) : []) {
        if (p.user_id === adminUser.id && p.message === SCRATCH_POST_MESSAGE) await admin.del(`/posts/${p.id}`);
      }
    }
  } catch (err) {
    report.cleanupFailures.push(`sweep: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseOrThrow<T>(value: unknown, schema: z.ZodType<T>, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`set-up failed: ${what}`);
  return r.data;
}
