/**
 * Shared pieces for the everyday-command tests against the fake server: a demo seed
 * grown with many users (pagination, batch sizes), assertions for hostile display
 * data, and request-log filters.
 */
import { expect } from 'vitest';
import type { RecordedRequest } from '../../../src/sandbox/fake-server.js';
import { demoSeed, SeedBuilder, SEED_EPOCH, userIdFor } from '../../../src/sandbox/seed.js';
import type { SeedData } from '../../../src/sandbox/store.js';

/** `user000`… usernames of the extra seeded people. */
export const extraName = (i: number): string => `user${String(i).padStart(3, '0')}`;

/**
 * The demo seed plus `n` plain users (`user000`…), members of `acme` and its
 * town-square, each with an offline status row.
 */
export function demoSeedWithUsers(n: number): SeedData {
  const seed = demoSeed();
  const b = new SeedBuilder();
  const names = Array.from({ length: n }, (_, i) => extraName(i));
  for (const [i, username] of names.entries()) b.user({ username, first_name: 'Person', last_name: String(i) }, { token: null });
  b.join('acme', names, ['town-square']);
  const extra = b.build();
  seed.users = [...(seed.users ?? []), ...(extra.users ?? [])];
  seed.teamMembers = [...(seed.teamMembers ?? []), ...(extra.teamMembers ?? [])];
  seed.channelMembers = [...(seed.channelMembers ?? []), ...(extra.channelMembers ?? [])];
  seed.statuses = [
    ...(seed.statuses ?? []),
    ...names.map((u) => ({ user_id: userIdFor(u), status: 'offline', manual: false, last_activity_at: SEED_EPOCH, dnd_end_time: 0 })),
  ];
  return seed;
}

/** Requests matching `method` and a path pattern (full path, e.g. `/api/v4/users/status/ids`). */
export const requestsTo = (log: RecordedRequest[], method: string, path: RegExp): RecordedRequest[] =>
  log.filter((r) => r.method === method && path.test(r.path));

/**
 * Rendered text is safe: no live `@` mention (every `@` is followed by a zero-width
 * space), no bidi override, no raw HTML, and every table row has as many cells as
 * its header.
 */
export function expectSafeRendering(text: string): void {
  expect(text).not.toMatch(/@(?!\u200b)/);
  expect(text).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  expect(text).not.toMatch(/<script>/i);
  const cells = (line: string): number => line.replace(/\\\\/g, '').replace(/\\\|/g, '').split('|').length;
  let header: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    if (header === undefined) header = cells(line);
    else expect(cells(line), `row keeps its cells: ${line.slice(0, 80)}`).toBe(header);
  }
}

/** The data rows of the first Markdown table in `text` (header and rule excluded). */
export function tableRows(text: string): string[] {
  const lines = text.split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2);
}

/** `text` without Markdown backslash escapes and zero-width spaces, for matching sentences. */
export const plain = (text: string): string => text.replace(/\\([\\`*_{}[\]()#+\-.!|<>:])/g, '$1').replace(/\u200b/g, '');
