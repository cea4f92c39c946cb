/**
 * Roles, schemes, system ping, cluster status and SAML certificate status
 * (docs/mattermost-notes.md §5.8, §5.9).
 */
import { z } from 'zod';
import { AppError, caller, forbidden, idParam, invalidBodyParam, invalidUrlParam, notFound, ok, parseBody, type Router } from './http.js';
import type { SandboxCore } from './core.js';
import { isValidRoleName, type RoleRecord } from './role-catalog.js';

export function registerSystemRoutes(r: Router, core: SandboxCore): void {
  const store = core.store;
  const roleView = (role: RoleRecord): Record<string, unknown> => ({ ...role, permissions: [...role.permissions] });

  r.add('POST', '/roles/names', (ctx) => {
    const names = parseBody(ctx, z.array(z.string()), 'rolenames');
    if (names.length === 0) throw invalidBodyParam('rolenames');
    const out: Record<string, unknown>[] = [];
    for (const name of new Set(names)) {
      if (!isValidRoleName(name)) throw invalidBodyParam('rolename');
      const role = store.roles.get(name);
      if (role) out.push(roleView(role));
    }
    return ok(out);
  });

  r.add('GET', '/roles/name/{role_name}', (ctx) => {
    const name = ctx.params.role_name ?? '';
    if (!isValidRoleName(name)) throw invalidBodyParam('role_name');
    const role = store.roles.get(name);
    if (!role) throw notFound('app.role.get_by_name.app_error');
    return ok(roleView(role));
  });

  r.add('GET', '/roles', (ctx) => {
    const me = caller(ctx);
    if (!store.hasPermission(me, 'sysconsole_read_user_management_permissions') && !store.isAdmin(me)) throw forbidden(me.id, 'manage_system');
    return ok([...store.roles.values()].map(roleView));
  });

  r.add('GET', '/roles/{role_id}', (ctx) => {
    const id = idParam(ctx, 'role_id');
    const role = [...store.roles.values()].find((x) => x.id === id);
    if (!role) throw notFound('app.role.get.app_error');
    return ok(roleView(role));
  });

  r.add('PATCH', '/roles/{role_id}/patch', (ctx) => {
    const me = caller(ctx);
    const id = idParam(ctx, 'role_id');
    const patch = parseBody(ctx, z.object({ permissions: z.array(z.string()).optional() }), 'role');
    const role = [...store.roles.values()].find((x) => x.id === id);
    if (!role) throw notFound('app.role.get.app_error');
    const isSystemRole = role.name.startsWith('system_');
    const perm = isSystemRole ? 'sysconsole_write_user_management_system_roles' : 'sysconsole_write_user_management_permissions';
    if (!store.hasPermission(me, perm) && !store.isAdmin(me)) throw forbidden(me.id, perm);
    if (patch.permissions) role.permissions = [...new Set(patch.permissions)];
    role.update_at = Date.now();
    core.hub.emit('role_updated', { role: JSON.stringify(roleView(role)) }, {});
    return ok(roleView(role));
  });

  r.add('GET', '/schemes/{scheme_id}', (ctx) => {
    const me = caller(ctx);
    const id = idParam(ctx, 'scheme_id');
    if (!store.hasPermission(me, 'sysconsole_read_user_management_permissions') && !store.isAdmin(me)) {
      throw forbidden(me.id, 'sysconsole_read_user_management_permissions');
    }
    const scheme = store.schemes.get(id);
    if (!scheme || scheme.delete_at > 0) throw notFound('app.scheme.get.app_error');
    return ok(store.schemeView(scheme));
  });

  // server/channels/api4/config.go getClientConfig: `format=old` required (none → 501,
  // another → 400); without a session the limited config. Both carry the public half of
  // the signing key (server/channels/app/platform/config.go regenerateClientConfig).
  r.add(
    'GET',
    '/config/client',
    (ctx) => {
      const format = ctx.query.get('format') ?? '';
      if (format === '') throw new AppError(501, 'api.config.client.old_format.app_error', 'New format for the client configuration is not supported yet. Please specify format=old in the query string.');
      if (format !== 'old') throw invalidUrlParam('format');
      const c = store.config;
      const limited: Record<string, string> = {
        SiteName: c.siteName,
        SiteURL: c.siteUrl,
        Version: core.version,
        BuildNumber: c.buildNumber,
        BuildEnterpriseReady: String(c.licensed),
        DiagnosticsEnabled: 'false',
        EnableSignUpWithEmail: 'true',
        EnableSignInWithEmail: 'true',
        EnableSignInWithUsername: 'true',
      };
      if (c.signingKey) limited.AsymmetricSigningPublicKey = core.signer.publicKey;
      if (!ctx.user) return ok(limited);
      return ok({
        ...limited,
        EnableCommands: String(c.enableCommands),
        EnableUserStatuses: String(c.enableUserStatuses),
        EnablePostUsernameOverride: String(c.enablePostUsernameOverride),
        EnablePostIconOverride: String(c.enablePostIconOverride),
        ShowEmailAddress: String(c.showEmailAddress),
        ShowFullName: String(c.showFullName),
        MaxFileSize: String(c.maxFileSize),
      });
    },
    { auth: false },
  );

  r.add(
    'GET',
    '/system/ping',
    (ctx) => {
      const c = store.config;
      const body: Record<string, unknown> = {
        status: 'OK',
        AndroidLatestVersion: '',
        AndroidMinVersion: '',
        IosLatestVersion: '',
        IosMinVersion: '',
        ActiveSearchBackend: 'database',
      };
      const headers: Record<string, string> = {};
      if (ctx.query.get('get_server_status') === 'true') {
        body.database_status = c.databaseStatus;
        body.filestore_status = c.filestoreStatus;
        if (c.databaseStatus !== 'OK' || c.filestoreStatus !== 'OK') body.status = 'UNHEALTHY';
        headers.status = String(body.status);
        headers.database_status = c.databaseStatus;
        headers.filestore_status = c.filestoreStatus;
        if (ctx.user && store.isAdmin(ctx.user)) body.root_status = false;
      }
      if (ctx.query.get('device_id')) body.CanReceiveNotifications = 'true';
      const failing = body.status !== 'OK' && ctx.query.get('use_rest_semantics') !== 'true';
      return { status: failing ? 500 : 200, json: body, headers };
    },
    { auth: false },
  );

  r.add('GET', '/cluster/status', (ctx) => {
    const me = caller(ctx);
    if (!store.hasPermission(me, 'sysconsole_read_environment_high_availability')) throw forbidden(me.id, 'sysconsole_read_environment_high_availability');
    return ok(store.cluster.map((n) => ({ ...n })));
  });

  r.add('GET', '/saml/certificate/status', (ctx) => {
    const me = caller(ctx);
    if (!store.hasPermission(me, 'get_saml_cert_status')) throw forbidden(me.id, 'get_saml_cert_status');
    if (!store.saml.enabled) throw new AppError(501, 'api.admin.saml.not_available.app_error', 'SAML 2.0 is not configured or supported on this server.');
    const s = store.saml;
    return ok({ idp_certificate_file: s.idp_certificate_file, private_key_file: s.private_key_file, public_certificate_file: s.public_certificate_file });
  });
}
