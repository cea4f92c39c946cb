/**
 * Server versions and the compatibility paths the bot takes for them. The version comes from
 * `X-Version-Id` / the WebSocket `hello` (`<major>.<minor>.<patch>.<build>.<hash>.<licensed>`,
 * docs/mattermost-notes.md §0); the bot logs the result once at start-up so an operator can
 * see which behaviour it assumed for their server.
 */

export interface ServerVersion {
  major: number;
  minor: number;
  patch: number;
  /** `a.b.c` */
  text: string;
}

/** Parses the first three numbers of a version id; undefined when there are none. */
export function parseServerVersion(v: string): ServerVersion | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

/** True when `v` is at least `major.minor`. */
export function atLeast(v: ServerVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

export interface CompatPath {
  /** what the choice is about */
  feature: string;
  /** what the bot does on this server */
  path: string;
  /** the notes section that explains it */
  notes: string;
}

/**
 * The version-dependent choices, for the start-up log. An unknown version gets the paths of
 * current servers, and says so.
 */
export function compatibilityPaths(v: ServerVersion | undefined): CompatPath[] {
  const known = v !== undefined;
  const assumed = known ? '' : ' (version unknown: assuming a current server)';
  const catchUp =
    !v || atLeast(v, 6, 1)
      ? `after a WebSocket gap or a restart, re-read over REST (GET /users/{id}/channels, posts?since)${assumed}`
      : 'after a WebSocket gap or a restart, re-read over REST team by team (GET /users/{id}/teams/{team_id}/channels with DMs and group messages, posts?since): GET /users/{id}/channels needs 6.1';
  return [
    { feature: 'websocket resume', path: 'token on the upgrade request, connection_id + next sequence_number', notes: '§3.1, §3.6' },
    { feature: 'catch-up', path: catchUp, notes: '§5.11' },
    {
      feature: 'mentions in posted',
      path: 'not used: a post outside a DM is for the bot only when its text says @botname (the list also holds the bot for @channel/@all/@here, and in a group message on 9.1+ for every post)',
      notes: '§3.8',
    },
    {
      feature: 'click answers',
      path: 'always a JSON body ({} at least): servers before 5.38 fail a click answered with an empty body',
      notes: '§8.5',
    },
    {
      feature: 'actions on ephemeral posts',
      path: 'answer with ephemeral_text, never update (older servers fail the click after an update)',
      notes: '§8.5',
    },
    { feature: 'trigger_id', path: 'verified with AsymmetricSigningPublicKey from the client config when the server publishes one', notes: '§4.5' },
  ];
}

/**
 * What works less well on this server than on a current one, one short phrase each, for
 * the start-up line that tells the operator (empty: nothing). docs/compatibility.md
 * explains each.
 */
export function degradedFeatures(v: ServerVersion | undefined): string[] {
  if (!v) return [];
  const out: string[] = [];
  if (!atLeast(v, 6, 1)) {
    out.push('catch-up lists channels team by team (one call per team; a bot in no team cannot list its DMs, so DMs sent while it was away are not read)');
  }
  return out;
}
