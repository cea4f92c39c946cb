/**
 * The contract suite's data model: a check is one assumption the bot makes about the
 * Mattermost server (docs/mattermost-notes.md), run against a target (the sandbox or a real
 * server) through the same code.
 */
import type { MattermostApi } from '../mattermost/api.js';
import type { Channel, Team, User } from '../mattermost/models.js';
import type { HttpClient } from './http.js';
import type { CallbackServer } from './callback.js';

/** read: only reads (and WebSocket connections); scratch: reversible writes inside the scratch team. */
export type CheckKind = 'read' | 'scratch';

export interface Check {
  /** stable id, e.g. `rest.users.lookup`; cited by docs/mattermost-notes.md */
  id: string;
  /** what is asserted, one line */
  what: string;
  /** which part of the bot breaks when the server behaves otherwise */
  dependsOn: string;
  /** the section of docs/mattermost-notes.md */
  notes: string;
  kind: CheckKind;
  run(ctx: CheckContext): Promise<Outcome>;
}

export type Status = 'pass' | 'fail' | 'skip';

/** What a check saw. `detail` never contains ids, tokens or timings, so two runs compare. */
export interface Outcome {
  status: Status;
  detail: string;
}

export interface CheckResult {
  id: string;
  status: Status;
  detail: string;
  ms: number;
}

/** What the runner hands each check. Tokens stay inside the clients. */
export interface CheckContext {
  url: string;
  /** the server's X-Version-Id: a check whose expectation depends on the release reads it (src/mattermost/compat.ts) */
  version: string;
  /** the bot's (admin) token */
  admin: HttpClient;
  /** an ordinary user's token: the caller in permission checks */
  user: HttpClient;
  /** no token */
  anon: HttpClient;
  /** the bot's own REST client with the admin token (the code under contract) */
  adminApi: MattermostApi;
  adminUser: User;
  callerUser: User;
  /** a team both accounts belong to (the scratch team when given) */
  team: Team | undefined;
  /** a channel of `team` the caller is a member of */
  channel: Channel | undefined;
  /** present only when reversible writes are allowed (--scratch-team, always in the sandbox) */
  scratch: { team: Team } | undefined;
  /** receives slash-command and action calls from the server */
  callback: CallbackServer;
  /**
   * Registers an undo step BEFORE the write it undoes; it must be idempotent (it may run
   * although the write never happened). Steps run last-in first-out at the end of the
   * check, on failure, and on SIGINT/SIGTERM.
   */
  onCleanup(label: string, undo: () => Promise<void>): void;
  signal: AbortSignal;
}

/** Outcome helpers. */
export const pass = (detail: string): Outcome => ({ status: 'pass', detail });
export const fail = (detail: string): Outcome => ({ status: 'fail', detail });
export const skip = (detail: string): Outcome => ({ status: 'skip', detail });

/** Thrown by `expect*` helpers inside a check: the runner turns it into a `fail`. */
export class ContractFailure extends Error {}

export function ensure(cond: unknown, message: string): asserts cond {
  if (!cond) throw new ContractFailure(message);
}
