/**
 * Server version modes of the sandbox: what a given Mattermost release does differently,
 * for everything the bot depends on (docs/compatibility.md lists the same differences for
 * operators). `startFakeMattermost({ version: '5.37.0' })` and
 * `npm run demo -- --server-version 5.37` pick a profile; the default is a current server.
 *
 * Each difference names where it was read:
 * - 5.37 = `mattermost/mattermost-server` (July 2021, the 5.37 release branch layout:
 *   `api4/`, `app/`, `store/sqlstore/` at the repository root);
 * - 9.10 = `midas-phoenix/mattermost-server` (the June 2024 monorepo, `server/channels/…`).
 *
 * @example
 *   const p = serverProfile('5.37.0');
 *   p.userChannelsRoute        // false: GET /users/{id}/channels is answered 404
 */
export interface ServerProfile {
  /** `a.b.c`, the start of X-Version-Id and of the hello's `server_version` */
  version: string;
  /**
   * `GET /users/{id}/channels` exists (added in 6.1: 5.37's api4/channel.go InitChannel has
   * only `/users/{id}/teams/{team_id}/channels`). Without it the path falls through to
   * web/web.go Handle404: 404 `api.context.404.app_error`.
   */
  userChannelsRoute: boolean;
  /**
   * An integration's empty answer to a click is accepted (200). 5.37's
   * app/integration_action.go DoPostActionWithCookie decodes the body with
   * `json.NewDecoder(resp.Body).Decode`, so an empty body (EOF) is 400
   * `api.post.do_action.action_integration.app_error`; the `len(respBytes) > 0` guard came
   * with "Consider empty body before unmarshal on do post action" (July 2021, 5.38/6.0).
   */
  emptyActionAnswerOk: boolean;
  /**
   * How an action's `update` on an ephemeral post is handled and whether `selected_option`
   * is sent for any action type and `goto_location` passed back (see FakeConfig.actionsCompat):
   * 5.37's and 9.10's DoPostActionWithCookie call UpdatePost (no row: 404 after the
   * integration ran) and add `selected_option` for `select` only; the `current` path is the
   * one read on master (10.x, the sandbox's default). Where between 9.10 and 10.5 it changed
   * was not read: the switch is put at 10.0.
   */
  actionsCompat: 'current' | 'old';
  /**
   * `posted.mentions` holds only the recipient's own id (per-recipient). 5.37's
   * app/notification.go SendNotifications adds the whole `mentionedUsersList` to one
   * broadcast for the channel, so every member sees every mentioned id. The per-recipient
   * hook (app/web_broadcast_hooks.go addMentionsBroadcastHook, 9.10) came in 9.3
   * ("Add WebSocket broadcast hook and don't broadcast when other users were mentioned").
   */
  mentionsPerRecipient: boolean;
  /**
   * In a group message every member is mentioned by every post (`posted.mentions` holds them
   * all but the author): 9.10 `server/channels/app/notification.go`
   * getExplicitMentionsAndKeywords adds a `GMMention` for each member of a group channel.
   * It came with commit 88d043a971 "Make GM behave as DM" (September 2023, while master's
   * newest version in `model/version.go` was 9.1.0), so from 9.1; 5.37's app/notification.go
   * has no such mention.
   */
  gmMentionsEveryone: boolean;
  /**
   * `PUT /users/{id}/status` keeps `dnd_end_time`. 5.37 `api4/status.go` updateUserStatus
   * calls SetStatusDoNotDisturbTimed only `if c.App.Config().FeatureFlags.TimedDND`, a flag
   * `model/feature_flags.go` SetDefaults leaves false, so the end time is dropped and the
   * answer says `dnd_end_time: 0` (seen on a real 5.37). The flag went with commit
   * 98284a79eb "remove timedDND feature flag" (October 2021, master's newest version 6.0.0),
   * so from 6.1; 6.0 was not read.
   */
  timedDnd: boolean;
  /**
   * The router's 404 (`web/web.go` Handle404: no such route) is labelled `application/json`.
   * 5.37's Handle404 writes the AppError JSON without setting a content type, so Go's
   * sniffing labels it `text/plain; charset=utf-8` (measured on a real 5.37); 9.10's
   * (`server/channels/web/web.go` Handle404) sets `application/json`. Where between the two
   * it changed was not read: the switch is put at 6.0. Neither sends X-Request-Id or X-Version-Id there.
   */
  router404Json: boolean;
  /**
   * `GET /users/{id}/audits` with no row answers `null`: 9.10's
   * `server/channels/store/sqlstore/audit_store.go` SqlAuditStore.Get leaves its slice nil when
   * sqlx's Select finds nothing, and `api4/user.go` getUserAudits encodes it; 5.37's gorp
   * Select (`store/sqlstore/audit_store.go`) gives `[]` (both measured on real servers). Where
   * between the two it changed was not read: the switch is put at 6.0.
   */
  emptyAuditsNull: boolean;
}

/** The profile of a current server (the sandbox's default, version 10.5.0). */
export const CURRENT_PROFILE: ServerProfile = {
  version: '10.5.0',
  userChannelsRoute: true,
  emptyActionAnswerOk: true,
  actionsCompat: 'current',
  mentionsPerRecipient: true,
  gmMentionsEveryone: true,
  timedDnd: true,
  router404Json: true,
  emptyAuditsNull: true,
};

/** The versions `--server-version` accepts by name (any a.b.c works; these are the ones run for real). */
export const NAMED_VERSIONS = ['5.37', '9.10', '10.5'] as const;

/**
 * The profile of `version` (`5.37`, `5.37.0`, `9.10.1`…): each behaviour switches at the
 * release where the server source changed it. Throws on a string that is not a version.
 */
export function serverProfile(version: string): ServerProfile {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(version.trim());
  if (!m) throw new Error(`not a server version: "${version}" (expected e.g. 5.37 or 9.10.0)`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3] ?? 0);
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  return {
    version: `${major}.${minor}.${patch}`,
    userChannelsRoute: atLeast(6, 1),
    emptyActionAnswerOk: atLeast(5, 38),
    actionsCompat: atLeast(10, 0) ? 'current' : 'old',
    mentionsPerRecipient: atLeast(9, 3),
    gmMentionsEveryone: atLeast(9, 1),
    timedDnd: atLeast(6, 1),
    router404Json: atLeast(6, 0),
    emptyAuditsNull: atLeast(6, 0),
  };
}
