/**
 * Shared pieces of the buttons/approvals/dialogs security tests
 * (confirmations.test.ts, confirmations-review.test.ts): the bot's recorded calls, an
 * admin's REST call, a policy file, and the bot's callback routes reached directly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEntry } from '../../src/core/command.js';
import type { FakeMattermost, Post, RecordedRequest } from '../../src/sandbox/fake-server.js';
import { tokenFor, userIdFor } from '../../src/sandbox/seed.js';
import type { E2E } from '../e2e/support.js';

export const SECRET = 'test-actions-secret-0123456789abcdefghijklmnop';
export const BOT_ID = userIdFor('mmops');

/** Requests the bot made (with its own token) matching `method` and `path`. */
export const botCalls = (fake: FakeMattermost, method: string, path: RegExp): RecordedRequest[] =>
  fake.requests.filter((r) => r.userId === BOT_ID && r.method === method && path.test(r.path));

/** A REST call as alice (system admin), as an admin changes things in the System Console. */
export async function asAlice(fake: FakeMattermost, method: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${fake.url}/api/v4${path}`, { method, headers: { Authorization: `Bearer ${tokenFor('alice')}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** Writes `policy` to a fresh file for MMOPS_POLICY. */
export function policyFile(policy: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mmops-policy-')), 'policy.json');
  writeFileSync(path, JSON.stringify(policy));
  return path;
}

/** POSTs JSON straight to one of the bot's callback routes, as anyone who can reach its listener can. */
export async function postToBot(e: E2E, route: '/actions' | '/dialogs', body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${e.bot.url}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The ids of a post's buttons. */
export const actionIds = (post: Post): string[] =>
  ((post.props as { attachments?: Array<{ actions?: Array<{ id: string }> }> }).attachments ?? []).flatMap((a) => (a.actions ?? []).map((x) => x.id));

/** Audit entries the bot wrote (one structured log line each, core/audit.ts). */
export const audits = (e: E2E): AuditEntry[] => e.log.entries.filter((x) => x.msg === 'audit').map((x) => x.fields['audit'] as AuditEntry);
