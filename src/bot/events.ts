/**
 * WebSocket events as a map from event name to handlers. Every event first reaches the
 * permission and visibility caches (they invalidate on role, membership and channel
 * changes); then the handlers of its name run. The router is made by the WebSocket step,
 * with every part the handlers use.
 */
import { z } from 'zod';
import type { PermissionService } from '../core/permission-service.js';
import type { VisibilityService } from '../core/permissions/visibility.js';
import type { User, WsEvent } from '../mattermost/models.js';
import type { MattermostSocket } from '../mattermost/websocket.js';
import { shortServerVersion } from '../services/bot-status.js';
import type { CatchUp } from '../services/catch-up.js';
import type { SlashRegistration } from '../services/slash-registration.js';
import type { WsIntake } from '../transports/ws-intake.js';
import type { BotRuntime } from './runtime.js';
import { registerNewTeam } from './teams.js';

/** What the event handlers work with. */
export interface EventParts {
  me: User;
  permissions: PermissionService;
  visibility: VisibilityService;
  intake: WsIntake;
  catchUp: CatchUp | undefined;
  registration: SlashRegistration;
  socket: MattermostSocket;
}

/** A handler of one WebSocket event. */
export type EventHandler = (rt: BotRuntime, parts: EventParts, ev: WsEvent) => void;

const addedToTeamSchema = z.object({ team_id: z.string().min(1), user_id: z.string().min(1) });
const userUpdatedSchema = z.object({ user: z.object({ id: z.string().min(1) }) });
const helloSchema = z.object({ server_version: z.string().default('') });

/** Run for every event, each on its own (one failing does not stop the other). */
const EVERY_EVENT: readonly EventHandler[] = [updatePermissionCache, updateVisibilityCache];

/** The handlers by event name (a Map: event names come off the wire). */
export const EVENT_HANDLERS: ReadonlyMap<string, readonly EventHandler[]> = new Map<string, readonly EventHandler[]>([
  ['hello', [onHello]],
  ['user_updated', [forgetUpdatedUser]],
  ['added_to_team', [registerIfBotAdded]],
  ['posted', [handlePosted]],
]);

/** The socket's event listener for this bot. */
export function createEventRouter(rt: BotRuntime, parts: EventParts): (ev: WsEvent) => void {
  return (ev) => {
    for (const handle of EVERY_EVENT) handle(rt, parts, ev);
    for (const handle of EVENT_HANDLERS.get(ev.event) ?? []) handle(rt, parts, ev);
  };
}

function updatePermissionCache(rt: BotRuntime, parts: EventParts, ev: WsEvent): void {
  try {
    parts.permissions.handleEvent(ev);
  } catch (err) {
    rt.log.warn({ err, event: ev.event }, 'permission cache could not apply an event');
  }
}

function updateVisibilityCache(rt: BotRuntime, parts: EventParts, ev: WsEvent): void {
  try {
    parts.visibility.handleEvent(ev);
  } catch (err) {
    rt.log.warn({ err, event: ev.event }, 'visibility cache could not apply an event');
  }
}

/** A fresh connection (not a resume): whatever was posted in the gap is read over REST. */
function onHello(rt: BotRuntime, parts: EventParts, ev: WsEvent): void {
  rt.hellos += 1;
  const v = helloSchema.safeParse(ev.data);
  if (v.success && v.data.server_version) {
    rt.serverVersion = shortServerVersion(v.data.server_version);
    rt.status.setServerVersion(rt.serverVersion);
  }
  parts.catchUp?.trigger(rt.hellos > 1 ? 'the WebSocket did not resume' : 'start-up');
  if (rt.hellos > 1) {
    // a new hello means events were missed: nothing cached can be trusted
    parts.permissions.clear();
    parts.visibility.clear();
    rt.userCache.clear();
    rt.log.info({ reconnects: parts.socket.state().reconnects }, 'WebSocket gap: caches cleared');
  }
}

function forgetUpdatedUser(rt: BotRuntime, _parts: EventParts, ev: WsEvent): void {
  const u = userUpdatedSchema.safeParse(ev.data);
  if (u.success) rt.userCache.forget(u.data.user.id);
}

function registerIfBotAdded(rt: BotRuntime, parts: EventParts, ev: WsEvent): void {
  const d = addedToTeamSchema.safeParse(ev.data);
  if (d.success && d.data.user_id === parts.me.id) void registerNewTeam(rt, parts.registration, d.data.team_id);
}

/** A DM or a mention (the intake decides which posts are commands). */
function handlePosted(_rt: BotRuntime, parts: EventParts, ev: WsEvent): void {
  void parts.intake.handleEvent(ev);
}
