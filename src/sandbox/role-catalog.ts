/**
 * Built-in roles of the fake server with their default permission lists (protocol §5.9).
 * Modelled on `MakeDefaultRoles` in the server; a live server's lists drift with
 * migrations, so these are approximate but consistent: `system_admin` holds every
 * permission, team/channel roles hold what the §5 endpoint tables check.
 */

const TEAM_USER = [
  'list_team_channels',
  'join_public_channels',
  'read_public_channel',
  'view_team',
  'create_public_channel',
  'create_private_channel',
  'invite_user',
  'add_user_to_team',
];

const TEAM_ADMIN = [
  'edit_others_posts',
  'remove_user_from_team',
  'manage_team',
  'import_team',
  'manage_team_roles',
  'manage_channel_roles',
  'manage_others_incoming_webhooks',
  'manage_others_outgoing_webhooks',
  'manage_own_slash_commands',
  'manage_others_slash_commands',
  'manage_slash_commands',
  'manage_incoming_webhooks',
  'manage_outgoing_webhooks',
  'delete_post',
  'delete_others_posts',
  'convert_public_channel_to_private',
  'convert_private_channel_to_public',
  'read_private_channel_groups',
  'read_public_channel_groups',
];

const CHANNEL_USER = [
  'read_channel',
  'read_channel_content',
  'add_reaction',
  'remove_reaction',
  'manage_public_channel_members',
  'manage_private_channel_members',
  'manage_public_channel_properties',
  'manage_private_channel_properties',
  'delete_public_channel',
  'delete_private_channel',
  'upload_file',
  'get_public_link',
  'create_post',
  'use_channel_mentions',
  'use_group_mentions',
  'edit_post',
  'delete_post',
];

const CHANNEL_ADMIN = ['manage_channel_roles', 'use_group_mentions', 'manage_public_channel_banner', 'manage_private_channel_banner'];

const CHANNEL_GUEST = ['read_channel', 'read_channel_content', 'add_reaction', 'remove_reaction', 'upload_file', 'edit_post', 'create_post', 'use_channel_mentions'];

const SYSTEM_USER = [
  'list_public_teams',
  'join_public_teams',
  'create_direct_channel',
  'create_group_channel',
  'view_members',
  'create_team',
  'create_custom_group',
  'manage_custom_group_members',
  'delete_custom_group',
  'edit_custom_group',
  'restore_custom_group',
  'create_emojis',
  'delete_emojis',
  'list_users_without_team',
];

const SYSTEM_USER_MANAGER = [
  'sysconsole_read_user_management_groups',
  'sysconsole_read_user_management_teams',
  'sysconsole_read_user_management_channels',
  'sysconsole_read_user_management_permissions',
  'sysconsole_write_user_management_groups',
  'sysconsole_write_user_management_teams',
  'sysconsole_write_user_management_channels',
  'sysconsole_read_authentication_signup',
  'sysconsole_read_authentication_email',
  'sysconsole_read_authentication_password',
  'sysconsole_read_authentication_mfa',
  'sysconsole_read_authentication_ldap',
  'sysconsole_read_authentication_saml',
  'sysconsole_read_authentication_openid',
  'sysconsole_read_authentication_guest_access',
  'list_private_teams',
  'join_private_teams',
  'read_private_channel_groups',
  'read_public_channel_groups',
  'view_team',
  'read_public_channel',
  'read_channel',
  'manage_team',
  'manage_team_roles',
  'manage_channel_roles',
  'add_user_to_team',
  'remove_user_from_team',
  'manage_public_channel_members',
  'manage_private_channel_members',
  'manage_public_channel_properties',
  'manage_private_channel_properties',
  'convert_public_channel_to_private',
  'convert_private_channel_to_public',
  'delete_public_channel',
  'delete_private_channel',
  'test_ldap',
];

const SYSTEM_READ_ONLY_ADMIN = [
  'sysconsole_read_about_edition_and_license',
  'sysconsole_read_reporting_site_statistics',
  'sysconsole_read_reporting_team_statistics',
  'sysconsole_read_reporting_server_logs',
  'sysconsole_read_user_management_users',
  'sysconsole_read_user_management_groups',
  'sysconsole_read_user_management_teams',
  'sysconsole_read_user_management_channels',
  'sysconsole_read_user_management_permissions',
  'sysconsole_read_environment_high_availability',
  'sysconsole_read_environment_web_server',
  'sysconsole_read_environment_database',
  'sysconsole_read_site_customization',
  'sysconsole_read_authentication_saml',
  'sysconsole_read_authentication_ldap',
  'sysconsole_read_integrations_integration_management',
  'sysconsole_read_compliance_compliance_monitoring',
  'get_saml_cert_status',
  'list_private_teams',
  'read_public_channel',
  'read_channel',
  'view_team',
  'read_other_users_teams',
];

const SYSTEM_MANAGER = [
  ...SYSTEM_READ_ONLY_ADMIN,
  'sysconsole_write_user_management_groups',
  'sysconsole_write_user_management_teams',
  'sysconsole_write_user_management_channels',
  'sysconsole_write_environment_high_availability',
  'sysconsole_write_environment_web_server',
  'sysconsole_write_environment_database',
  'sysconsole_write_site_customization',
  'sysconsole_write_integrations_integration_management',
  'manage_team',
  'manage_team_roles',
  'manage_channel_roles',
  'add_user_to_team',
  'remove_user_from_team',
  'join_private_teams',
  'test_site_url',
  'reload_config',
  'invalidate_caches',
  'recycle_database_connections',
  'test_elasticsearch',
  'test_s3',
];

/** Every permission the fake knows; `system_admin` gets all of them. */
export const ALL_PERMISSIONS: readonly string[] = [
  ...new Set([
    ...TEAM_USER,
    ...TEAM_ADMIN,
    ...CHANNEL_USER,
    ...CHANNEL_ADMIN,
    ...SYSTEM_USER,
    ...SYSTEM_USER_MANAGER,
    ...SYSTEM_MANAGER,
    'manage_system',
    'edit_other_users',
    'manage_roles',
    'join_private_teams',
    'create_post_ephemeral',
    'create_user_access_token',
    'read_user_access_token',
    'revoke_user_access_token',
    'create_bot',
    'read_bots',
    'read_others_bots',
    'manage_bots',
    'manage_others_bots',
    'manage_jobs',
    'manage_oauth',
    'manage_system_wide_oauth',
    'manage_others_slash_commands',
    'manage_own_slash_commands',
    'sysconsole_read_user_management_users',
    'sysconsole_write_user_management_users',
    'sysconsole_write_user_management_permissions',
    'sysconsole_write_user_management_system_roles',
    'sysconsole_read_environment_high_availability',
    'sysconsole_write_about_edition_and_license',
    'demote_to_guest',
    'promote_guest',
    'edit_brand',
    'manage_shared_channels',
    'manage_secure_connections',
    'read_other_users_teams',
    'create_post',
    'create_post_public',
    'upload_file',
    'get_saml_cert_status',
    'add_saml_public_cert',
    'add_saml_private_cert',
    'add_saml_idp_cert',
    'remove_saml_public_cert',
    'remove_saml_private_cert',
    'remove_saml_idp_cert',
    'read_audits',
    'purge_bleve_indexes',
    'manage_license_information',
    'read_license_information',
    'read_jobs',
    'get_analytics',
    'get_logs',
  ]),
].sort();

/** A role as the server stores it (the wire Role of §5.9). */
export interface RoleRecord {
  id: string;
  name: string;
  display_name: string;
  description: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  permissions: string[];
  scheme_managed: boolean;
  built_in: boolean;
}

/** Built-in role name → [display name key, permissions, scheme_managed]. */
export const BUILT_IN_ROLES: Record<string, { display: string; permissions: readonly string[]; schemeManaged: boolean }> = {
  system_guest: { display: 'authentication.roles.global_guest.name', permissions: ['create_direct_channel', 'create_group_channel'], schemeManaged: true },
  system_user: { display: 'authentication.roles.global_user.name', permissions: SYSTEM_USER, schemeManaged: true },
  system_admin: { display: 'authentication.roles.global_admin.name', permissions: ALL_PERMISSIONS, schemeManaged: true },
  system_post_all: { display: 'authentication.roles.system_post_all.name', permissions: ['create_post'], schemeManaged: false },
  system_post_all_public: { display: 'authentication.roles.system_post_all_public.name', permissions: ['create_post_public'], schemeManaged: false },
  system_user_access_token: { display: 'authentication.roles.system_user_access_token.name', permissions: ['create_user_access_token', 'read_user_access_token', 'revoke_user_access_token'], schemeManaged: false },
  system_user_manager: { display: 'authentication.roles.system_user_manager.name', permissions: SYSTEM_USER_MANAGER, schemeManaged: false },
  system_read_only_admin: { display: 'authentication.roles.system_read_only_admin.name', permissions: SYSTEM_READ_ONLY_ADMIN, schemeManaged: false },
  system_manager: { display: 'authentication.roles.system_manager.name', permissions: SYSTEM_MANAGER, schemeManaged: false },
  system_custom_group_admin: { display: 'authentication.roles.system_custom_group_admin.name', permissions: ['create_custom_group', 'edit_custom_group', 'delete_custom_group', 'manage_custom_group_members'], schemeManaged: false },
  system_shared_channel_manager: { display: 'authentication.roles.system_shared_channel_manager.name', permissions: ['manage_shared_channels', 'manage_secure_connections'], schemeManaged: false },
  team_guest: { display: 'authentication.roles.team_guest.name', permissions: ['view_team'], schemeManaged: true },
  team_user: { display: 'authentication.roles.team_user.name', permissions: TEAM_USER, schemeManaged: true },
  team_admin: { display: 'authentication.roles.team_admin.name', permissions: TEAM_ADMIN, schemeManaged: true },
  team_post_all: { display: 'authentication.roles.team_post_all.name', permissions: ['create_post'], schemeManaged: false },
  team_post_all_public: { display: 'authentication.roles.team_post_all_public.name', permissions: ['create_post_public'], schemeManaged: false },
  channel_guest: { display: 'authentication.roles.channel_guest.name', permissions: CHANNEL_GUEST, schemeManaged: true },
  channel_user: { display: 'authentication.roles.channel_user.name', permissions: CHANNEL_USER, schemeManaged: true },
  channel_admin: { display: 'authentication.roles.channel_admin.name', permissions: CHANNEL_ADMIN, schemeManaged: true },
  custom_group_user: { display: 'authentication.roles.custom_group_user.name', permissions: [], schemeManaged: false },
  playbook_admin: { display: 'playbook_admin', permissions: ['playbook_public_manage_properties', 'playbook_public_manage_members'], schemeManaged: true },
  playbook_member: { display: 'playbook_member', permissions: ['playbook_public_view', 'playbook_public_manage_members'], schemeManaged: true },
  run_admin: { display: 'run_admin', permissions: ['run_manage_members', 'run_manage_properties'], schemeManaged: true },
  run_member: { display: 'run_member', permissions: ['run_view'], schemeManaged: true },
};

/** Team-level default permissions, exported for custom scheme roles in seeds. */
export const DEFAULT_TEAM_USER_PERMISSIONS: readonly string[] = TEAM_USER;
export const DEFAULT_TEAM_ADMIN_PERMISSIONS: readonly string[] = TEAM_ADMIN;

/** A valid role name (`IsValidRoleName`): 1–64 chars of `[a-z0-9_]`. */
export function isValidRoleName(name: string): boolean {
  return /^[a-z0-9_]{1,64}$/.test(name);
}
