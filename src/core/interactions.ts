/**
 * What the dispatcher needs from the buttons-and-approvals feature
 * (src/services/confirmations.ts implements it). Kept as a small port so the dispatcher
 * knows nothing about tokens, posts or the state store.
 */
import type { Invocation } from './command.js';
import type { FollowUp, Reply, ReplyButton } from './reply.js';
import type { User } from '../mattermost/models.js';

/** A command stopped before changing anything and previewed the change. */
export interface ConfirmationRequest {
  inv: Invocation;
  /** the person who asked (fresh) */
  caller: User;
  /** whom it acts on, when it names someone */
  target?: User;
  /** what will change, one paragraph of plain text (escaped when shown) */
  preview: string;
  /** `user deactivate` */
  label: string;
  /** the subcommand's answer holds a secret (an approval then hands the run to the requester) */
  sensitive?: boolean;
  /** the invocation's reference id */
  ref: string;
  /** digests of every value the preview showed or derived; the confirmed run must find the same */
  pins?: Record<string, string>;
  /** ids of everyone the change is done to (with the target): none of them may approve it */
  subjects?: string[];
}

export interface DispatchInteractions {
  /** Confirm / Cancel buttons for the caller alone (signed; the click re-runs the command with --yes). */
  confirmButtons(req: ConfirmationRequest): Promise<ReplyButton[]>;
  /** whether the operator's policy sends this subcommand to a second person for approval */
  needsApproval(command: string, subcommand: string): boolean;
  /** Posts the request to the approvals channel; returns what the requester is told. */
  requestApproval(req: ConfirmationRequest): Promise<Reply>;
  /** signed buttons for a reply's follow-ups (Reply.followUps), clickable by the caller alone */
  followUpButtons?(req: { inv: Invocation; caller: User; followUps: FollowUp[] }): Promise<ReplyButton[]>;
}
