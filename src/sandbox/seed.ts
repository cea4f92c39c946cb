/**
 * Seeds for the fake Mattermost server, and the names and tokens tests rely on.
 *
 * The `demo` seed is the "Acme" workspace described in the sandbox brief: two teams
 * (`acme` open, `ops` invite-only with a team scheme), a cast of users covering every
 * permission and sanitization case, statuses, sessions, audits, a 3-node cluster and
 * SAML. Every id is derived from a name (see ids.ts), so ids are the same on every run:
 *
 * ```ts
 * const mm = await startFakeMattermost();            // demo seed
 * const res = await fetch(`${mm.url}/api/v4/users/me`, {
 *   headers: { Authorization: `Bearer ${tokenFor('alice')}` },
 * });
 * ```
 */
import { idFor } from './ids.js';
import { DEFAULT_TEAM_ADMIN_PERMISSIONS, DEFAULT_TEAM_USER_PERMISSIONS, BUILT_IN_ROLES, type RoleRecord } from './role-catalog.js';
import {
  channelMemberRow,
  channelRow,
  teamMemberRow,
  type SeedData,
  type StoredChannel,
  type StoredTeam,
  type StoredUser,
} from './store.js';

/** Fixed clock for seeded timestamps (2025-01-01T00:00:00Z). */
export const SEED_EPOCH = 1_735_689_600_000;

/** The access token of the sandbox bot `mmops`. */
export const SANDBOX_BOT_TOKEN = idFor('token:mmops');
/** The bot's username in every seed. */
export const SANDBOX_BOT_USERNAME = 'mmops';

/** Personal access token of a seeded user (every human and bot of the demo seed has one). */
export function tokenFor(username: string): string {
  return idFor(`token:${username}`);
}
/** The password of a seeded user (the fake stores and compares it in clear; never returned). */
export function passwordFor(username: string): string {
  return `Pw-${username}-2025!`;
}
/** Stable id of a seeded user. */
export function userIdFor(username: string): string {
  return idFor(`user:${username}`);
}
/** Stable id of a seeded team. */
export function teamIdFor(teamName: string): string {
  return idFor(`team:${teamName}`);
}
/** Stable id of a seeded team channel. */
export function channelIdFor(teamName: string, channelName: string): string {
  return idFor(`channel:${teamName}:${channelName}`);
}
/** Stable id of a seeded scheme. */
export function schemeIdFor(name: string): string {
  return idFor(`scheme:${name}`);
}

/** Usernames in the demo seed. */
export const DEMO_USERNAMES = [
  'mmops',
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'mallory',
  'ann',
  'anna',
  'otherbot',
] as const;
export type DemoUsername = (typeof DEMO_USERNAMES)[number];

/** Ids of the seeded files (GET /files/{id}): a PNG image and a text file. */
export const DEMO_FILE_IDS = { avatarPng: idFor('file:avatar.png'), notesTxt: idFor('file:notes.txt') } as const;

/** A 1×1 transparent PNG. */
export const TINY_PNG = Uint8Array.from(
  Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'),
);

const DEFAULT_NOTIFY_PROPS: Record<string, string> = {
  email: 'true',
  push: 'mention',
  desktop: 'mention',
  desktop_sound: 'true',
  mention_keys: '',
  channel: 'true',
  push_status: 'away',
  comments: 'never',
  first_name: 'false',
  desktop_threads: 'all',
  email_threads: 'all',
  push_threads: 'all',
};

/** Options of {@link SeedBuilder.user}. */
export type UserSpec = Partial<Omit<StoredUser, 'id' | 'username'>> & { username: string };

/**
 * Builds SeedData with stable ids; used by the demo seed and handy for tests that need
 * a custom workspace:
 *
 * ```ts
 * const b = new SeedBuilder();
 * b.user({ username: 'mmops', is_bot: true, roles: 'system_user system_admin' }, { token: SANDBOX_BOT_TOKEN });
 * b.team('acme', 'Acme Corp');
 * b.channel('acme', 'town-square', 'Town Square');
 * b.join('acme', ['mmops'], ['town-square']);
 * const mm = await startFakeMattermost({ seed: b.build() });
 * ```
 */
export class SeedBuilder {
  readonly data: Required<Pick<SeedData, 'users' | 'teams' | 'teamMembers' | 'channels' | 'channelMembers' | 'roles' | 'schemes' | 'statuses' | 'preferences' | 'sessions' | 'audits' | 'tokens' | 'files' | 'cluster' | 'posts' | 'commands'>> &
    SeedData = {
    users: [],
    teams: [],
    teamMembers: [],
    channels: [],
    channelMembers: [],
    roles: [],
    schemes: [],
    statuses: [],
    preferences: [],
    sessions: [],
    audits: [],
    tokens: [],
    files: [],
    cluster: [],
    posts: [],
    commands: [],
  };
  private tick = 0;

  private at(): number {
    this.tick += 1;
    return SEED_EPOCH + this.tick * 60_000;
  }

  /** Adds a user (email defaults to `<username>@acme.example`), with an access token unless `token: null`. */
  user(spec: UserSpec, opts: { token?: string | null } = {}): StoredUser {
    const at = this.at();
    const u: StoredUser = {
      id: userIdFor(spec.username),
      create_at: at,
      update_at: at,
      delete_at: 0,
      password: passwordFor(spec.username),
      auth_data: '',
      auth_service: '',
      email: `${spec.username}@acme.example`,
      email_verified: true,
      nickname: '',
      first_name: '',
      last_name: '',
      position: '',
      roles: 'system_user',
      allow_marketing: false,
      props: {},
      notify_props: { ...DEFAULT_NOTIFY_PROPS },
      last_password_update: at,
      last_picture_update: 0,
      failed_attempts: 0,
      locale: 'en',
      timezone: { useAutomaticTimezone: 'true', automaticTimezone: 'UTC', manualTimezone: '' },
      mfa_active: false,
      mfa_secret: '',
      last_activity_at: 0,
      is_bot: false,
      bot_description: '',
      bot_owner_id: '',
      disable_welcome_email: false,
      last_login: 0,
      ...spec,
    };
    if (u.is_bot && !spec.email) u.email = `${u.username}@localhost`;
    this.data.users.push(u);
    const token = opts.token === undefined ? tokenFor(u.username) : opts.token;
    if (token) this.data.tokens.push({ token, user_id: u.id, session_id: '', kind: 'access_token' });
    return u;
  }

  team(name: string, displayName: string, opts: Partial<StoredTeam> = {}): StoredTeam {
    const at = this.at();
    const t: StoredTeam = {
      id: teamIdFor(name),
      create_at: at,
      update_at: at,
      delete_at: 0,
      display_name: displayName,
      name,
      description: '',
      email: `admin@acme.example`,
      type: 'O',
      company_name: '',
      allowed_domains: '',
      invite_id: idFor(`invite:${name}`),
      allow_open_invite: true,
      scheme_id: null,
      group_constrained: null,
      policy_id: null,
      cloud_limits_archived: false,
      ...opts,
    };
    this.data.teams.push(t);
    return t;
  }

  channel(teamName: string, name: string, displayName: string, opts: Partial<StoredChannel> = {}): StoredChannel {
    const at = this.at();
    const c = channelRow({ id: channelIdFor(teamName, name), team_id: teamIdFor(teamName), type: 'O', display_name: displayName, name, creator_id: '', ...opts }, at);
    this.data.channels.push(c);
    return c;
  }

  /** Adds users to a team and to the named channels of that team. */
  join(teamName: string, usernames: string[], channelNames: string[], kind: 'user' | 'admin' | 'guest' = 'user'): void {
    const teamId = teamIdFor(teamName);
    for (const username of usernames) {
      const userId = userIdFor(username);
      if (!this.data.teamMembers.some((m) => m.team_id === teamId && m.user_id === userId)) {
        this.data.teamMembers.push(teamMemberRow(teamId, userId, kind));
      }
      for (const ch of channelNames) this.joinChannel(teamName, ch, [username], kind === 'admin' ? 'user' : kind);
    }
  }

  /** Adds users to one channel (they must already be in the team for realism). */
  joinChannel(teamName: string, channelName: string, usernames: string[], kind: 'user' | 'admin' | 'guest' = 'user'): void {
    const channelId = channelIdFor(teamName, channelName);
    for (const username of usernames) {
      const userId = userIdFor(username);
      const existing = this.data.channelMembers.find((m) => m.channel_id === channelId && m.user_id === userId);
      if (existing) {
        if (kind === 'admin') existing.scheme_admin = true;
        continue;
      }
      this.data.channelMembers.push(channelMemberRow(channelId, userId, kind, SEED_EPOCH));
    }
  }

  role(name: string, permissions: readonly string[], opts: Partial<RoleRecord> = {}): RoleRecord {
    const r: RoleRecord = {
      id: idFor(`role:${name}`),
      name,
      display_name: name,
      description: '',
      create_at: SEED_EPOCH,
      update_at: SEED_EPOCH,
      delete_at: 0,
      permissions: [...permissions],
      scheme_managed: false,
      built_in: false,
      ...opts,
    };
    this.data.roles.push(r);
    return r;
  }

  build(config: SeedData['config'] = {}): SeedData {
    return { ...structuredClone(this.data), config: { ...this.data.config, ...config } };
  }
}

const HOSTILE_FIRST_NAME = `Mallory${'\u0301'.repeat(3)} ${'A'.repeat(120)} ${'💣'.repeat(20)} ${'Z'.repeat(130)}`;

/** The `demo` seed: the Acme workspace (see the module comment). Built fresh on each call. */
export function demoSeed(now = Date.now()): SeedData {
  const b = new SeedBuilder();

  // custom roles: a help-desk system role and the ops team scheme's roles
  b.role('helpdesk', ['edit_other_users'], { display_name: 'Help desk', description: 'Can edit other users' });
  const teamUserMinusInvite = DEFAULT_TEAM_USER_PERMISSIONS.filter((p) => p !== 'invite_user');
  b.role('ops_team_user', teamUserMinusInvite, { display_name: 'Ops team user', scheme_managed: true });
  b.role('ops_team_admin', DEFAULT_TEAM_ADMIN_PERMISSIONS, { display_name: 'Ops team admin', scheme_managed: true });
  b.role('ops_team_guest', BUILT_IN_ROLES.team_guest?.permissions ?? [], { display_name: 'Ops team guest', scheme_managed: true });
  b.role('ops_channel_user', BUILT_IN_ROLES.channel_user?.permissions ?? [], { display_name: 'Ops channel user', scheme_managed: true });
  b.role('ops_channel_admin', BUILT_IN_ROLES.channel_admin?.permissions ?? [], { display_name: 'Ops channel admin', scheme_managed: true });
  b.role('ops_channel_guest', BUILT_IN_ROLES.channel_guest?.permissions ?? [], { display_name: 'Ops channel guest', scheme_managed: true });
  b.data.schemes.push({
    id: schemeIdFor('ops-scheme'),
    name: 'ops-scheme',
    display_name: 'Ops scheme',
    description: 'Operations team: members cannot invite',
    create_at: SEED_EPOCH,
    update_at: SEED_EPOCH,
    delete_at: 0,
    scope: 'team',
    default_team_admin_role: 'ops_team_admin',
    default_team_user_role: 'ops_team_user',
    default_team_guest_role: 'ops_team_guest',
    default_channel_admin_role: 'ops_channel_admin',
    default_channel_user_role: 'ops_channel_user',
    default_channel_guest_role: 'ops_channel_guest',
  });

  // users
  b.user(
    { username: 'mmops', is_bot: true, roles: 'system_user system_admin', first_name: 'mmops', bot_description: 'Mattermost operations bot', bot_owner_id: userIdFor('alice') },
    { token: SANDBOX_BOT_TOKEN },
  );
  b.user({ username: 'alice', first_name: 'Alice', last_name: 'Admin', nickname: 'ali', position: 'IT lead', roles: 'system_user system_admin', mfa_active: true, mfa_secret: 'ALICESECRET', timezone: { useAutomaticTimezone: 'true', automaticTimezone: 'America/New_York', manualTimezone: '' }, last_activity_at: now - 60_000 });
  b.user({ username: 'bob', first_name: 'Bob', last_name: 'Builder', position: 'Ops lead', timezone: { useAutomaticTimezone: 'false', automaticTimezone: '', manualTimezone: 'Europe/Berlin' } });
  b.user({ username: 'carol', first_name: 'Carol', last_name: 'Manager', position: 'User manager', roles: 'system_user system_user_manager', auth_service: 'ldap', auth_data: 'carol.ldap', mfa_active: true, mfa_secret: 'CAROLSECRET', timezone: { useAutomaticTimezone: 'true', automaticTimezone: 'Asia/Tokyo', manualTimezone: '' } });
  b.user({ username: 'dave', first_name: 'Dave', last_name: 'Doe', auth_service: 'saml', auth_data: 'dave@idp.acme.example' });
  b.user({ username: 'erin', first_name: 'Erin', last_name: 'Guest', roles: 'system_guest', position: 'Contractor' });
  b.user({ username: 'frank', first_name: 'Frank', last_name: 'Former', delete_at: SEED_EPOCH + 86_400_000 });
  b.user({ username: 'grace', first_name: 'Grace', last_name: 'Hopper', position: 'Incident commander' });
  b.user({ username: 'heidi', first_name: 'Heidi', last_name: 'Helpdesk', position: 'Help desk', roles: 'system_user helpdesk', auth_service: 'gitlab', auth_data: '4242' });
  b.user({
    username: 'mallory',
    first_name: HOSTILE_FIRST_NAME,
    last_name: '<script>alert(1)</script>',
    nickname: '@channel | **bold** `tick` [x](http://evil)',
    position: 'Chief \u202Egnp.exe 🎉 officer',
  });
  b.user({ username: 'ann', first_name: 'Ann', last_name: 'Lee' });
  b.user({ username: 'anna', first_name: 'Anna', last_name: 'Lee' });
  // only in ops: erin (a guest in acme) may not see him, and neither may the bot's guest callers
  b.user({ username: 'ivan', first_name: 'Ivan', last_name: 'Nightly', position: 'Night shift operator' });
  b.user({ username: 'otherbot', is_bot: true, first_name: 'Other bot', bot_description: 'Some other integration', bot_owner_id: userIdFor('alice') });

  // teams and channels
  b.team('acme', 'Acme Corp', { description: 'The whole company', type: 'O', allow_open_invite: true });
  b.team('ops', 'Operations', { description: 'Operations team', type: 'I', allow_open_invite: false, scheme_id: schemeIdFor('ops-scheme') });
  for (const team of ['acme', 'ops']) {
    b.channel(team, 'town-square', 'Town Square');
    b.channel(team, 'off-topic', 'Off-Topic');
  }
  b.channel('ops', 'incidents', 'Incidents', { type: 'P', purpose: 'Live incidents', creator_id: userIdFor('grace') });
  b.channel('acme', 'helpdesk', 'Help Desk', { purpose: 'Ask for help here', creator_id: userIdFor('heidi') });

  const regulars = ['mmops', 'alice', 'bob', 'carol', 'dave', 'grace', 'heidi', 'mallory', 'ann', 'anna', 'otherbot'];
  b.join('acme', regulars, ['town-square', 'off-topic']);
  b.join('acme', ['erin'], ['town-square'], 'guest');
  b.joinChannel('acme', 'helpdesk', ['mmops', 'alice', 'carol', 'heidi', 'ann']);
  b.join('ops', regulars.filter((u) => u !== 'bob'), ['town-square', 'off-topic']);
  b.join('ops', ['bob'], ['town-square', 'off-topic'], 'admin');
  b.join('ops', ['ivan'], ['town-square', 'off-topic']);
  b.joinChannel('ops', 'incidents', ['alice', 'bob', 'mmops']);
  b.joinChannel('ops', 'incidents', ['grace'], 'admin');

  // statuses
  const minute = (ms: number): number => Math.floor(ms / 60_000) * 60;
  b.data.statuses.push(
    { user_id: userIdFor('alice'), status: 'online', manual: false, last_activity_at: now - 60_000, dnd_end_time: 0 },
    { user_id: userIdFor('bob'), status: 'away', manual: true, last_activity_at: now - 3_600_000, dnd_end_time: 0 },
    { user_id: userIdFor('carol'), status: 'dnd', manual: true, last_activity_at: now - 600_000, dnd_end_time: minute(now + 2 * 3_600_000) },
    ...['mmops', 'dave', 'erin', 'frank', 'grace', 'heidi', 'mallory', 'ann', 'anna', 'ivan', 'otherbot'].map((u) => ({
      user_id: userIdFor(u),
      status: 'offline',
      manual: false,
      last_activity_at: SEED_EPOCH,
      dnd_end_time: 0,
    })),
  );

  // preferences
  const pref = (u: string, category: string, name: string, value: string): void => {
    b.data.preferences.push({ user_id: userIdFor(u), category, name, value });
  };
  pref('alice', 'display_settings', 'use_military_time', 'true');
  pref('alice', 'display_settings', 'name_format', 'full_name');
  pref('alice', 'theme', '', '{"type":"Onyx"}');
  pref('bob', 'display_settings', 'use_military_time', 'false');
  pref('bob', 'notifications', 'email_interval', '3600');
  pref('dave', 'display_settings', 'collapsed_reply_threads', 'on');

  // sessions (tokens stored, never returned) and audits
  const devices: Record<string, Array<{ platform: string; os: string; browser: string; device: string; ip: string }>> = {
    alice: [
      { platform: 'Macintosh', os: 'Mac OS', browser: 'Chrome/126.0', device: '', ip: '10.0.0.21' },
      { platform: 'iPhone', os: 'iOS', browser: 'Mobile App/2.18', device: 'apple_rn-v2:alicephone', ip: '10.0.5.7' },
    ],
    bob: [{ platform: 'Linux', os: 'Linux', browser: 'Firefox/127.0', device: '', ip: '10.0.0.33' }],
    carol: [{ platform: 'Windows', os: 'Windows 11', browser: 'Desktop App/5.8', device: '', ip: '192.168.1.40' }],
    dave: [{ platform: 'Android', os: 'Android', browser: 'Mobile App/2.18', device: 'android_rn-v2:davephone', ip: '172.16.3.9' }],
    heidi: [{ platform: 'Linux', os: 'Ubuntu', browser: 'Chrome/125.0', device: '', ip: '10.0.0.50' }],
    grace: [{ platform: 'Macintosh', os: 'Mac OS', browser: 'Safari/17.5', device: '', ip: '10.0.0.60' }],
  };
  for (const [username, list] of Object.entries(devices)) {
    const user = b.data.users.find((u) => u.username === username);
    list.forEach((d, i) => {
      const id = idFor(`session:${username}:${i}`);
      const token = idFor(`session-token:${username}:${i}`);
      const created = SEED_EPOCH + (i + 1) * 86_400_000;
      b.data.sessions.push({
        id,
        token,
        create_at: created,
        expires_at: created + 30 * 86_400_000 * 12,
        last_activity_at: now - (i + 1) * 300_000,
        user_id: userIdFor(username),
        device_id: d.device,
        roles: user?.roles ?? 'system_user',
        is_oauth: false,
        expired_notify: false,
        props: { platform: d.platform, os: d.os, browser: d.browser, ip: d.ip, csrf: idFor(`csrf:${username}:${i}`), isSaml: String(user?.auth_service === 'saml'), isOAuthUser: 'false', is_guest: 'false' },
        local: false,
      });
      b.data.tokens.push({ token, user_id: userIdFor(username), session_id: id, kind: 'session' });
      b.data.audits.push({
        id: idFor(`audit:${username}:login:${i}`),
        create_at: created,
        user_id: userIdFor(username),
        action: '/api/v4/users/login',
        extra_info: `success session_user=${userIdFor(username)}`,
        ip_address: d.ip,
        session_id: id,
      });
    });
    b.data.audits.push({
      id: idFor(`audit:${username}:attempt`),
      create_at: SEED_EPOCH + 3_600_000,
      user_id: userIdFor(username),
      action: '/api/v4/users/login',
      extra_info: 'attempt - login_id=',
      ip_address: list[0]?.ip ?? '',
      session_id: '',
    });
  }
  b.data.audits.push({
    id: idFor('audit:bob:roles'),
    create_at: SEED_EPOCH + 5 * 86_400_000,
    user_id: userIdFor('bob'),
    action: '/api/v4/teams/roles',
    extra_info: `team=${teamIdFor('ops')} roles=team_user team_admin`,
    ip_address: '10.0.0.21',
    session_id: idFor('session:alice:0'),
  });

  // files (for the avatar feature)
  b.data.files.push(
    {
      id: DEMO_FILE_IDS.avatarPng,
      user_id: userIdFor('alice'),
      post_id: idFor('post:avatar'),
      channel_id: channelIdFor('acme', 'helpdesk'),
      create_at: SEED_EPOCH,
      update_at: SEED_EPOCH,
      delete_at: 0,
      name: 'avatar.png',
      extension: 'png',
      size: TINY_PNG.byteLength,
      mime_type: 'image/png',
      width: 1,
      height: 1,
      has_preview_image: true,
      data: TINY_PNG,
    },
    {
      id: DEMO_FILE_IDS.notesTxt,
      user_id: userIdFor('bob'),
      post_id: idFor('post:notes'),
      channel_id: channelIdFor('ops', 'town-square'),
      create_at: SEED_EPOCH,
      update_at: SEED_EPOCH,
      delete_at: 0,
      name: 'notes.txt',
      extension: 'txt',
      size: 12,
      mime_type: 'text/plain',
      width: 0,
      height: 0,
      has_preview_image: false,
      data: new TextEncoder().encode('hello world\n'),
    },
  );

  // cluster: app-3 lags one version behind
  for (const [i, version] of ['10.5.0', '10.5.0', '10.4.2'].entries()) {
    b.data.cluster.push({
      id: idFor(`node:app-${i + 1}`),
      version,
      schema_version: version === '10.5.0' ? '128' : '126',
      config_hash: version === '10.5.0' ? '1a2b3c4d5e6f' : '9f8e7d6c5b4a',
      ipaddress: `10.0.1.${11 + i}`,
      hostname: `app-${i + 1}`,
    });
  }

  return {
    ...b.build({
      siteName: 'Acme',
      enabledAuthServices: ['ldap', 'saml', 'gitlab'],
      // a licence up for renewal soon, with most seats taken (`report`, `health`)
      license: { id: idFor('license:acme'), users: 25, skuShortName: 'professional', company: 'Acme Corp', issuedAt: now - 345 * 86_400_000, startsAt: now - 345 * 86_400_000, expiresAt: now + 20 * 86_400_000 },
      postHistory: demoPostHistory(),
      // last night's LDAP sync failed; the one before went through (`health`)
      jobs: [
        { id: idFor('job:ldap:1'), type: 'ldap_sync', status: 'error', create_at: now - 3 * 3_600_000, start_at: now - 3 * 3_600_000, last_activity_at: now - 3 * 3_600_000 + 40_000 },
        { id: idFor('job:ldap:0'), type: 'ldap_sync', status: 'success', create_at: now - 27 * 3_600_000, start_at: now - 27 * 3_600_000, last_activity_at: now - 27 * 3_600_000 + 35_000 },
      ],
      plugins: [
        { plugin_id: 'playbooks', cluster_id: '', plugin_path: '/plugins/playbooks', state: 2, error: '', name: 'Playbooks', description: 'Checklists for incidents', version: '1.39.1' },
        { plugin_id: 'com.acme.standup', cluster_id: '', plugin_path: '/plugins/com.acme.standup', state: 4, error: 'plugin process exited: signal: killed', name: 'Standup', description: 'Daily standups', version: '0.3.0' },
      ],
    }),
    saml: { enabled: true, idp_certificate_file: true, public_certificate_file: true, private_key_file: false },
  };
}

/**
 * Thirty days of activity for the demo's analytics: quiet weekends, busier weeks, a slow
 * rise; fixed numbers (no randomness) so every run shows the same chart.
 */
export function demoPostHistory(): Array<{ daysAgo: number; posts: number; people: number }> {
  const out: Array<{ daysAgo: number; posts: number; people: number }> = [];
  for (let daysAgo = 1; daysAgo <= 30; daysAgo++) {
    const weekend = daysAgo % 7 === 2 || daysAgo % 7 === 3;
    const trend = 1 + (30 - daysAgo) / 60;
    const wobble = [0, 7, -4, 11, -6, 3, 9][daysAgo % 7] ?? 0;
    const posts = Math.round((weekend ? 14 : 62 + wobble) * trend);
    const people = Math.min(12, Math.round((weekend ? 3 : 8 + (wobble > 0 ? 1 : 0)) * trend));
    out.push({ daysAgo, posts, people });
  }
  return out;
}

/** The `empty` seed: only the bot `mmops` (system admin, token {@link SANDBOX_BOT_TOKEN}); no teams. */
export function emptySeed(): SeedData {
  const b = new SeedBuilder();
  b.user({ username: 'mmops', is_bot: true, roles: 'system_user system_admin', first_name: 'mmops', bot_description: 'Mattermost operations bot' }, { token: SANDBOX_BOT_TOKEN });
  b.data.statuses.push({ user_id: userIdFor('mmops'), status: 'offline', manual: false, last_activity_at: 0, dnd_end_time: 0 });
  return b.build();
}
