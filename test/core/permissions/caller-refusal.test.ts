/** ctx.perms.require: a refusal from cached roles is confirmed with the current ones (src/core/permissions/caller.ts). */
import { describe, expect, it } from 'vitest';
import type { Requirement } from '../../../src/core/command.js';
import type { CheckOptions, Decision, PermissionService } from '../../../src/core/permission-service.js';
import { createCallerPermissions } from '../../../src/core/permissions/caller.js';

const REQ: Requirement = { permission: 'manage_system', scope: 'system' };

/** A permission service whose cache says `cached` and whose server says `current`; records each check's freshness. */
function service(cached: Decision, current: Decision): { perms: PermissionService; seen: Array<CheckOptions['fresh']> } {
  const seen: Array<CheckOptions['fresh']> = [];
  const perms = {
    async check(_u: string, _r: Requirement, _w: unknown, o: CheckOptions = {}) {
      seen.push(o.fresh ?? false);
      return o.fresh ? current : cached;
    },
  } as unknown as PermissionService;
  return { perms, seen };
}

const refused: Decision = { allowed: false, reason: 'missing_permission', requirement: REQ };

describe('CallerPermissions.require', () => {
  it('passes when the current roles grant what the cached ones refused', async () => {
    const { perms, seen } = service(refused, { allowed: true });
    await expect(createCallerPermissions({ perms, userId: 'u' }).require(REQ)).resolves.toBeUndefined();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(false);
    expect(seen[1]).toMatchObject({ loads: expect.any(Map) });
  });

  it('refuses after one confirming check when the current roles refuse too', async () => {
    const { perms, seen } = service(refused, refused);
    await expect(createCallerPermissions({ perms, userId: 'u' }).require(REQ)).rejects.toMatchObject({ code: 'forbidden' });
    expect(seen).toHaveLength(2);
  });

  it('a grant from the cache is not re-read, nor is a check already fresh', async () => {
    const granted = service({ allowed: true }, refused);
    await createCallerPermissions({ perms: granted.perms, userId: 'u' }).require(REQ);
    expect(granted.seen).toEqual([false]);
    const fresh = service(refused, refused);
    await expect(createCallerPermissions({ perms: fresh.perms, userId: 'u', fresh: true }).require(REQ)).rejects.toMatchObject({ code: 'forbidden' });
    expect(fresh.seen).toEqual([true]);
  });
});
