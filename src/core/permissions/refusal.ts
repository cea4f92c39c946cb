/**
 * The one wording of a permission refusal, used by the dispatcher (before a command
 * runs) and by `ctx.perms.require` (inside a command):
 * "You need `edit_other_users` (system-wide) to do that."
 *
 * Which name the sentence may show is decided by whoever builds the {@link RefusalPlace}:
 * only a name the caller could see anyway (a public channel, a team they may view), or
 * what they typed themselves. A refusal must never reveal a private channel's or an
 * invite-only team's name to someone outside it.
 *
 * @example
 *   refusalText({ permission: 'manage_team', scope: 'team' }, { team: 'Acme Corp' });
 *   // You need `manage_team` (in team **Acme Corp**) to do that.
 */
import type { Requirement } from '../command.js';
import { code, Markdown, md, raw } from '../reply.js';

/** How a refusal may name where the permission is missing. */
export interface RefusalPlace {
  /** a team name the caller may see (display name) or typed; absent = "that team" */
  team?: string;
  /** a channel name the caller may see or typed; absent = "that channel" */
  channel?: string;
  /** the place is where the command was typed: "this team" / "this channel" when unnamed */
  here?: boolean;
  /** no team at all (a DM, no team named): tells how to give one */
  noTeam?: boolean;
}

/** Names longer than this are cut (a typed reference can be anything). */
const MAX_NAME = 64;
const short = (s: string): string => (s.length > MAX_NAME ? `${s.slice(0, MAX_NAME)}…` : s);

/** The words naming the place, as Markdown (names bold and escaped) or as plain text. */
function scopeWords(req: Requirement, place: RefusalPlace, markdown: boolean): Markdown | string {
  const named = (kind: 'team' | 'channel', name: string): Markdown | string =>
    markdown ? md`in ${kind} **${short(name)}**` : `in ${kind} ${short(name)}`;
  if (req.scope === 'system') return 'system-wide';
  if (req.scope === 'team') {
    if (place.team) return named('team', place.team);
    if (place.noTeam) return 'in a team (run it from one of its channels)';
    return place.here ? 'in this team' : 'in that team';
  }
  if (place.channel) return named('channel', place.channel);
  return place.here ? 'in this channel' : 'in that channel';
}

/** "system-wide", "in team **Acme Corp**", "in that channel", … (trusted Markdown). */
export function placeWords(req: Requirement, place: RefusalPlace = {}): Markdown {
  const words = scopeWords(req, place, true);
  return words instanceof Markdown ? words : raw(words);
}

/** "You need `edit_other_users` (system-wide) to do that." (trusted Markdown; names escaped). */
export function refusalText(req: Requirement, place: RefusalPlace = {}): Markdown {
  return md`You need ${code(req.permission)} (${placeWords(req, place)}) to do that.`;
}

/** The same sentence as plain text (an error message for logs and the audit trail). */
export function refusalSentence(req: Requirement, place: RefusalPlace = {}): string {
  return `You need ${req.permission} (${String(scopeWords(req, place, false))}) to do that.`;
}
