/**
 * Slash-command checks: registration as src/services/slash-registration.ts does it, the call
 * the server makes to the integration (src/transports/slash-endpoint.ts), the signed
 * trigger_id with the public key from the client config, and response_url.
 * Everything they create is named mmops-contract-… and removed again.
 */
import { createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';
import { commandSchema, type Command, type CommandInput } from '../../mattermost/models.js';
import type { CallbackRequest } from '../callback.js';
import { errorId, mustSucceed, statusLine } from '../http.js';
import { SCRATCH_PREFIX } from '../runner.js';
import { ContractFailure, ensure, pass, skip, type Check, type CheckContext, type Outcome } from '../types.js';
import { expectJson, UNKNOWN_ID } from './rest.js';

const clientConfigSchema = z.object({ SiteURL: z.string().optional(), AsymmetricSigningPublicKey: z.string().optional() }).passthrough();

function randomTrigger(): string {
  return `${SCRATCH_PREFIX}${Math.random().toString(36).slice(2, 8)}`;
}

/** What the bot sends when it registers (CommandInput), pointing at the callback listener. */
function commandInput(ctx: CheckContext, trigger: string, path: string): CommandInput {
  return {
    team_id: ctx.scratch!.team.id,
    trigger,
    method: 'P',
    url: `${ctx.callback.url}${path}`,
    auto_complete: false,
    auto_complete_desc: '',
    auto_complete_hint: '',
    display_name: 'mmops contract',
    description: 'temporary command of npm run contract',
  };
}

/** Creates a scratch command (undo registered first: delete every command this check made). */
async function createCommand(ctx: CheckContext, path = '/slash', trigger = randomTrigger()): Promise<Command> {
  const made: string[] = [];
  ctx.onCleanup(`delete command ${trigger}`, async () => {
    const list = z.array(z.object({ id: z.string(), trigger: z.string() })).safeParse((await ctx.admin.get('/commands', { team_id: ctx.scratch!.team.id, custom_only: true })).json);
    const ids = new Set(made);
    if (list.success) for (const c of list.data) if (c.trigger === trigger && c.trigger.startsWith(SCRATCH_PREFIX)) ids.add(c.id);
    for (const id of ids) {
      const a = await ctx.admin.del(`/commands/${id}`);
      if (a.status !== 404) mustSucceed(a, `DELETE /commands/${trigger}`);
    }
  });
  const a = await ctx.admin.post('/commands', commandInput(ctx, trigger, path));
  if (a.status === 501) throw new ContractFailure('slash commands are disabled on this server (501)');
  const cmd = expectJson(a, commandSchema, 'POST /commands', 201);
  made.push(cmd.id);
  return cmd;
}

const formOf = (r: CallbackRequest) => new URLSearchParams(r.body);

/**
 * Creates a command, runs it as the bot in the scratch team's town-square and returns what the
 * integration received, or a skip when the server cannot reach the callback listener.
 */
async function executeScratch(ctx: CheckContext, text: string): Promise<{ cmd: Command; form: URLSearchParams; request: CallbackRequest } | Outcome> {
  const path = `/slash-${Math.random().toString(36).slice(2, 8)}`;
  const cmd = await createCommand(ctx, path);
  const town = await ctx.admin.get(`/teams/${ctx.scratch!.team.id}/channels/name/town-square`);
  const channelId = z.object({ id: z.string() }).parse(town.json).id;
  const ran = await ctx.admin.post('/commands/execute', { channel_id: channelId, team_id: ctx.scratch!.team.id, command: `/${cmd.trigger} ${text}` });
  const request = await ctx.callback.waitFor(path, 3_000);
  if (!request) {
    return skip(`the server did not reach the callback listener (execute: ${statusLine(ran)}); give --callback-url reachable from the server and allow it in AllowedUntrustedInternalConnections`);
  }
  ensure(ran.status === 200, `POST /commands/execute: ${statusLine(ran)}`);
  return { cmd, form: formOf(request), request };
}

async function clientConfig(ctx: CheckContext, anonymous: boolean) {
  const client = anonymous ? ctx.anon : ctx.admin;
  const a = await client.get('/config/client', { format: 'old' });
  ensure(a.status === 200, `GET /config/client?format=old (${anonymous ? 'no session' : 'bot'}): ${statusLine(a)}`);
  const parsed = clientConfigSchema.safeParse(a.json);
  ensure(parsed.success, 'client config is not an object');
  return parsed.data;
}

/** Verifies a trigger_id as docs/mattermost-notes.md §4.5 describes; returns the signed user id and time. */
export function verifyTriggerId(triggerId: string, publicKeyB64: string): { userId: string; millis: number } {
  const decoded = Buffer.from(triggerId, 'base64').toString('utf8');
  const parts = decoded.split(':');
  ensure(parts.length === 4, `trigger_id has ${parts.length} parts, not 4`);
  const [clientId = '', userId = '', millis = '', sig = ''] = parts;
  const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
  ensure(key.asymmetricKeyDetails?.namedCurve === 'prime256v1', 'the public key is not P-256');
  const ok = verify('sha256', Buffer.from(`${clientId}:${userId}:${millis}:`), { key, dsaEncoding: 'der' }, Buffer.from(sig, 'base64'));
  ensure(ok, 'the trigger_id signature does not verify with AsymmetricSigningPublicKey');
  return { userId, millis: Number(millis) };
}

export const slashReadChecks: Check[] = [
  {
    id: 'rest.config.client',
    what: 'GET /config/client?format=old gives SiteURL (bot) and a P-256 AsymmetricSigningPublicKey (also without a session)',
    dependsOn: 'response_url leash (only SiteURL hooks) and trigger_id verification in src/transports/slash-endpoint.ts',
    notes: '§4.4, §4.5',
    kind: 'read',
    async run(ctx) {
      const full = await clientConfig(ctx, false);
      ensure(typeof full.SiteURL === 'string' && /^https?:\/\//.test(full.SiteURL), 'SiteURL is missing or not http(s) (response_url checks need it)');
      const limited = await clientConfig(ctx, true);
      const key = limited.AsymmetricSigningPublicKey;
      ensure(typeof key === 'string' && key.length > 0, 'AsymmetricSigningPublicKey missing from the limited config');
      const k = createPublicKey({ key: Buffer.from(key, 'base64'), format: 'der', type: 'spki' });
      ensure(k.asymmetricKeyDetails?.namedCurve === 'prime256v1', 'the key is not P-256');
      ensure(full.AsymmetricSigningPublicKey === key, 'the key differs between the full and the limited config');
      return pass('SiteURL http(s); P-256 SPKI key, same with and without a session');
    },
  },
];

export const slashChecks: Check[] = [
  {
    id: 'slash.create',
    what: 'POST /commands (as the bot registers) → 201 with a token, trigger as sent',
    dependsOn: 'slash registration at start-up (src/services/slash-registration.ts)',
    notes: '§4.3',
    kind: 'scratch',
    async run(ctx) {
      const cmd = await createCommand(ctx);
      ensure(/^[a-z0-9]{26}$/.test(cmd.token), 'no 26-character token in the answer');
      ensure(cmd.trigger.startsWith(SCRATCH_PREFIX) && cmd.method === 'P', 'trigger or method changed');
      return pass('201; token; trigger and method as sent');
    },
  },
  {
    id: 'slash.list-tokens',
    what: 'GET /commands?team_id&custom_only=true lists the command with its token',
    dependsOn: 'slash registration (finds its command and token after a restart)',
    notes: '§4.3',
    kind: 'scratch',
    async run(ctx) {
      const cmd = await createCommand(ctx);
      const list = expectJson(await ctx.admin.get('/commands', { team_id: ctx.scratch!.team.id, custom_only: true }), z.array(commandSchema), 'GET /commands');
      const found = list.find((c) => c.id === cmd.id);
      ensure(found, 'the new command is not listed');
      ensure(found.token === cmd.token, 'listed without its token');
      return pass('listed with token');
    },
  },
  {
    id: 'slash.update',
    what: 'PUT /commands/{id} with the whole command updates it and keeps the token',
    dependsOn: 'slash registration (re-registers a changed URL or description)',
    notes: '§4.3',
    kind: 'scratch',
    async run(ctx) {
      const cmd = await createCommand(ctx);
      const updated = expectJson(await ctx.admin.put(`/commands/${cmd.id}`, { ...cmd, description: 'updated by npm run contract' }), commandSchema, 'PUT /commands/{id}');
      ensure(updated.description === 'updated by npm run contract', 'description not updated');
      ensure(updated.token === cmd.token, 'the token changed');
      return pass('200; updated; token kept');
    },
  },
  {
    id: 'slash.duplicate-trigger',
    what: 'a second command with the same trigger in the team → 400 api.command.duplicate_trigger.app_error',
    dependsOn: 'slash registration (explains a trigger taken by another integration)',
    notes: '§4.3',
    kind: 'scratch',
    async run(ctx) {
      const cmd = await createCommand(ctx);
      // the undo of createCommand removes every command with this trigger, a wrongly accepted twin included
      const again = await ctx.admin.post('/commands', commandInput(ctx, cmd.trigger, '/slash'));
      ensure(again.status === 400 && errorId(again) === 'api.command.duplicate_trigger.app_error', `got ${statusLine(again)}`);
      return pass('400 api.command.duplicate_trigger.app_error');
    },
  },
  {
    id: 'slash.builtin-trigger',
    what: 'a built-in trigger (echo) is refused like a duplicate → 400 api.command.duplicate_trigger.app_error',
    dependsOn: 'slash registration (MMOPS trigger validation refuses built-in names up front)',
    notes: '§4.3',
    kind: 'scratch',
    async run(ctx) {
      let madeId = '';
      ctx.onCleanup('delete a wrongly accepted built-in trigger', async () => {
        if (madeId) mustSucceed(await ctx.admin.del(`/commands/${madeId}`), 'DELETE /commands/{id}');
      });
      const a = await ctx.admin.post('/commands', commandInput(ctx, 'echo', '/slash'));
      if (a.status === 201) madeId = z.object({ id: z.string() }).parse(a.json).id;
      ensure(a.status === 400 && errorId(a) === 'api.command.duplicate_trigger.app_error', `got ${statusLine(a)}`);
      return pass('400 api.command.duplicate_trigger.app_error');
    },
  },
  {
    id: 'slash.delete',
    what: 'DELETE /commands/{id} → {status:OK}; the command is gone (404)',
    dependsOn: 'slash registration clean-up (MMOPS_SLASH_UNREGISTER)',
    notes: '§4.3',
    kind: 'scratch',
    async run(ctx) {
      const cmd = await createCommand(ctx);
      const del = await ctx.admin.del(`/commands/${cmd.id}`);
      ensure(del.status === 200 && z.object({ status: z.literal('OK') }).safeParse(del.json).success, `DELETE: ${statusLine(del)}`);
      const after = await ctx.admin.get(`/commands/${cmd.id}`);
      ensure(after.status === 404, `GET after delete: ${statusLine(after)}`);
      return pass('{status:OK}; then 404');
    },
  },
  {
    id: 'slash.execute',
    what: 'running the command POSTs the form (token, user, team, channel, command, text, trigger_id, response_url) with Authorization: Token',
    dependsOn: 'slash endpoint (src/transports/slash-endpoint.ts) form parsing and token check',
    notes: '§4.1',
    kind: 'scratch',
    async run(ctx) {
      const r = await executeScratch(ctx, 'hello  world');
      if ('status' in r) return r;
      const { cmd, form, request } = r;
      ensure(request.method === 'POST' && request.contentType.startsWith('application/x-www-form-urlencoded'), `${request.method} ${request.contentType}`);
      ensure(request.headers.authorization === `Token ${cmd.token}`, 'Authorization is not "Token <command token>"');
      ensure(form.get('token') === cmd.token, 'form token is not the command token');
      ensure(form.get('user_id') === ctx.adminUser.id && form.get('user_name') === ctx.adminUser.username, 'user_id/user_name');
      ensure(form.get('team_id') === ctx.scratch!.team.id && form.get('team_domain') === ctx.scratch!.team.name, 'team_id/team_domain');
      ensure(form.get('command') === `/${cmd.trigger}`, `command "${form.get('command')}"`);
      ensure(form.get('text') === 'hello  world', `text "${form.get('text')}"`);
      for (const f of ['channel_id', 'channel_name', 'trigger_id', 'response_url']) ensure(form.get(f), `form field ${f} missing`);
      return pass('form fields and Authorization: Token as expected');
    },
  },
  {
    id: 'slash.trigger-id',
    what: 'the trigger_id is signed (ECDSA P-256, SHA-256) for the invoking user and verifies with the public key',
    dependsOn: 'caller verification in src/transports/slash-endpoint.ts (signed user id must equal user_id)',
    notes: '§4.5',
    kind: 'scratch',
    async run(ctx) {
      const key = (await clientConfig(ctx, true)).AsymmetricSigningPublicKey;
      if (!key) return skip('the server publishes no AsymmetricSigningPublicKey');
      const r = await executeScratch(ctx, 'trigger');
      if ('status' in r) return r;
      const signed = verifyTriggerId(r.form.get('trigger_id') ?? '', key);
      ensure(signed.userId === r.form.get('user_id'), 'the signed user id differs from user_id');
      ensure(Math.abs(Date.now() - signed.millis) < 5 * 60_000, 'the signed time is more than 5 minutes off');
      return pass('signature verifies; signed user = user_id; recent');
    },
  },
  {
    id: 'slash.response-url',
    what: 'response_url is <SiteURL>/hooks/commands/<id>: ok (text/plain) 5 times, then 400; an unknown id 404',
    dependsOn: 'delayed answers and the response_url leash (src/mattermost/response-url.ts, src/transports/delayed-answer.ts)',
    notes: '§4.4, §6 item 22',
    kind: 'scratch',
    async run(ctx) {
      const site = (await clientConfig(ctx, false)).SiteURL ?? '';
      const r = await executeScratch(ctx, 'later');
      if ('status' in r) return r;
      const url = r.form.get('response_url') ?? '';
      ensure(url.startsWith(`${site.replace(/\/+$/, '')}/hooks/commands/`), 'response_url is not on SiteURL/hooks/commands/');
      const body = { response_type: 'ephemeral', text: 'mmops contract check (response_url)' };
      for (let i = 1; i <= 5; i++) {
        const a = await ctx.anon.request('POST', url, { absolute: true, body, noAuth: true });
        ensure(a.status === 200 && a.text === 'ok' && a.contentType.startsWith('text/plain'), `use ${i}: ${statusLine(a)} ${a.contentType}`);
      }
      const sixth = await ctx.anon.request('POST', url, { absolute: true, body, noAuth: true });
      ensure(sixth.status === 400, `use 6: ${statusLine(sixth)}`);
      const unknown = await ctx.anon.request('POST', url.replace(/[^/]+$/, UNKNOWN_ID), { absolute: true, body, noAuth: true });
      ensure(unknown.status === 404, `unknown hook: ${statusLine(unknown)}`);
      return pass(`ok ×5 (text/plain); 6th ${statusLine(sixth)}; unknown ${statusLine(unknown)}`);
    },
  },
];
