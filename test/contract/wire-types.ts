/**
 * Types from the source of truth: every field the bot reads (the keys of its zod schemas in
 * src/mattermost/models.ts) must exist in the server's own model as published in
 * @mattermost/types, and in what the sandbox stores and answers. `npm run typecheck` fails
 * on drift, naming the missing keys. Add a key to the bot's schema only if the model has it.
 */
import type { Audit as MmAudit } from '@mattermost/types/audits';
import type { Channel as MmChannel, ChannelMembership } from '@mattermost/types/channels';
import type { Command as MmCommand } from '@mattermost/types/integrations';
import type { Post as MmPost } from '@mattermost/types/posts';
import type { PreferenceType } from '@mattermost/types/preferences';
import type { Role as MmRole } from '@mattermost/types/roles';
import type { Scheme as MmScheme } from '@mattermost/types/schemes';
import type { Session as MmSession } from '@mattermost/types/sessions';
import type { Team as MmTeam, TeamMembership } from '@mattermost/types/teams';
import type { UserProfile, UserStatus } from '@mattermost/types/users';
import type { PostAction as MmPostAction, PostActionResponse as MmPostActionResponse } from '@mattermost/types/integration_actions';
import type {
  Dialog as MmDialog,
  DialogElement as MmDialogElement,
  DialogSubmission as MmDialogSubmission,
  SubmitDialogResponse as MmSubmitDialogResponse,
} from '@mattermost/types/integrations';
import type { ActionAttachment } from '../../src/render/attachments.js';
import type { ActionRequest } from '../../src/services/confirmations.js';
import type { DialogSubmission } from '../../src/services/dialogs.js';
import type { ActionApiResponse, ActionIntegrationRequest } from '../../src/sandbox/routes-actions.js';
import type { Dialog as SandboxDialog, DialogElement as SandboxDialogElement, SubmitDialogAnswer, SubmitDialogBody } from '../../src/sandbox/routes-dialogs.js';
import type { Audit, Channel, ChannelMember, Command, Post, Preference, Role, Scheme, Session, Status, Team, TeamMember, User } from '../../src/mattermost/models.js';
import type {
  Post as SandboxPost,
  StoredAudit,
  StoredChannel,
  StoredChannelMember,
  StoredPreference,
  StoredScheme,
  StoredSession,
  StoredStatus,
  StoredTeam,
  StoredTeamMember,
  StoredUser,
} from '../../src/sandbox/store.js';

/** `true` when every key of A is a key of B; otherwise a type naming the missing keys. */
type Covers<A, B> = [Exclude<keyof A, keyof B>] extends [never] ? true : { missingKeys: Exclude<keyof A, keyof B> };

// what the bot reads ⊆ the server's model
export const modelCoversBot = {
  user: true satisfies Covers<User, UserProfile>,
  status: true satisfies Covers<Status, UserStatus>,
  session: true satisfies Covers<Session, MmSession>,
  audit: true satisfies Covers<Audit, MmAudit>,
  team: true satisfies Covers<Team, MmTeam>,
  // explicit_roles is serialized by the Go model (server/public/model/team_member.go) but
  // missing from @mattermost/types' TeamMembership; likewise scheme_guest/explicit_roles of
  // ChannelMembership and plugin_id of Command: known gaps of the TypeScript types.
  teamMember: true satisfies Covers<Omit<TeamMember, 'explicit_roles'>, TeamMembership>,
  channel: true satisfies Covers<Channel, MmChannel>,
  channelMember: true satisfies Covers<Omit<ChannelMember, 'scheme_guest' | 'explicit_roles'>, ChannelMembership>,
  role: true satisfies Covers<Role, MmRole>,
  scheme: true satisfies Covers<Omit<Scheme, 'default_team_guest_role' | 'default_channel_guest_role'>, MmScheme>,
  preference: true satisfies Covers<Preference, PreferenceType>,
  command: true satisfies Covers<Omit<Command, 'plugin_id'>, MmCommand>,
  post: true satisfies Covers<Post, MmPost>,
};

// what the bot reads ⊆ what the sandbox stores (and serializes)
export const sandboxCoversBot = {
  user: true satisfies Covers<User, StoredUser>,
  status: true satisfies Covers<Status, StoredStatus>,
  session: true satisfies Covers<Session, StoredSession>,
  audit: true satisfies Covers<Audit, StoredAudit>,
  team: true satisfies Covers<Team, StoredTeam>,
  // `roles` of members is computed by the sandbox's member views from the scheme flags
  teamMember: true satisfies Covers<Omit<TeamMember, 'roles'>, StoredTeamMember>,
  channel: true satisfies Covers<Channel, StoredChannel>,
  channelMember: true satisfies Covers<Omit<ChannelMember, 'roles'>, StoredChannelMember>,
  scheme: true satisfies Covers<Scheme, StoredScheme>,
  preference: true satisfies Covers<Preference, StoredPreference>,
  post: true satisfies Covers<Post, SandboxPost>,
};

// §8 buttons and dialogs (docs/mattermost-notes.md §8): what the bot reads of a click and of a
// submission ⊆ what the sandbox sends; what the sandbox sends clients ⊆ the server's models.
// @mattermost/types has no PostActionIntegrationRequest (clients never see it); for it the
// sandbox's type is written from model/integration_action.go.
export const interactionsCovered = {
  actionRequest: true satisfies Covers<ActionRequest, ActionIntegrationRequest>,
  dialogSubmission: true satisfies Covers<DialogSubmission, SubmitDialogBody>,
  dialogSubmissionModel: true satisfies Covers<DialogSubmission, MmDialogSubmission>,
  sandboxSubmissionModel: true satisfies Covers<SubmitDialogBody, MmDialogSubmission>,
  dialog: true satisfies Covers<SandboxDialog, MmDialog>,
  dialogElement: true satisfies Covers<SandboxDialogElement, MmDialogElement>,
  // goto_location (current servers) is missing from @mattermost/types' PostActionResponse
  clickAnswer: true satisfies Covers<Omit<ActionApiResponse, 'goto_location'>, MmPostActionResponse>,
  submitAnswer: true satisfies Covers<SubmitDialogAnswer, MmSubmitDialogResponse>,
  // the buttons the bot renders; `integration` is left out of the TypeScript PostAction because
  // clients never receive it (StripActionIntegrations), the Go model has it
  button: true satisfies Covers<Omit<ActionAttachment['actions'][number], 'integration'>, MmPostAction>,
};
