/**
 * Expected failures, told to the person plainly (Sapphire's UserError). Anything
 * that is not a UserError is a crash: the dispatcher logs it with a reference id
 * and answers with a short apology naming that id.
 */
import type { Requirement } from './command.js';
import type { Markdown } from './reply.js';

export type UserErrorCode =
  | 'not_found'
  | 'ambiguous'
  | 'invalid_input'
  | 'forbidden'
  | 'unavailable' // the bot account itself lacks a permission, or a feature is off
  | 'needs_confirmation'
  | 'conflict'
  | 'rate_limited'
  | 'server_error'; // the Mattermost server said no, in a way the person can act on

export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    readonly code: UserErrorCode,
    /** one friendly sentence, plain text (the renderer escapes it) */
    message: string,
    readonly details: {
      /** e.g. candidate usernames for `ambiguous`, usage for `invalid_input` */
      items?: string[];
      requirement?: Requirement;
      usage?: string;
      /** the sentence as trusted Markdown, shown instead of `message` (e.g. a refusal naming a permission in code) */
      text?: Markdown;
      /**
       * needs_confirmation: a digest of every value the preview showed or derived, by what it
       * is (commands/lib/admin-users.ts `askFirst`); kept in the buttons' signed payload
       */
      pins?: Record<string, string>;
      /** needs_confirmation: the ids of everyone the change is done to (none of them may approve it) */
      subjects?: string[];
    } = {},
  ) {
    super(message);
  }
}

export const isUserError = (e: unknown): e is UserError => e instanceof UserError;

export const notFound = (what: string): UserError => new UserError('not_found', what);
export const invalidInput = (msg: string, usage?: string): UserError =>
  new UserError('invalid_input', msg, usage ? { usage } : {});
