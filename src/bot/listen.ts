/** Start-up step: the HTTP listeners (/slash, and /healthz, /readyz, /metrics). */
import { resolvePublicUrl, type ListenAddress } from '../config.js';
import { SLASH_PATH } from '../services/slash-registration.js';
import { createHttpServer, type HttpServer } from '../transports/http-server.js';
import { createOpsRoutes } from '../transports/ops-endpoints.js';
import { createSlashEndpoint } from '../transports/slash-endpoint.js';
import type { z } from 'zod';
import { createCallbackEndpoint } from '../transports/callback-endpoint.js';
import { renderAttachments } from '../render/attachments.js';
import { actionRequestSchema } from '../services/confirmations.js';
import { dialogSubmissionSchema } from '../services/dialogs.js';
import { ACTIONS_PATH, DIALOGS_PATH } from './interactions.js';
import { runInvocation, render, urlOf, type BotRuntime, type BotUrls } from './runtime.js';
import { StartupError } from './startup-error.js';

/** What the listen step makes: the listeners and the URLs the server reaches the bot on. */
export interface Listening {
  http: HttpServer;
  bound: ListenAddress;
  opsHttp?: HttpServer;
  opsBound?: ListenAddress;
  urls: BotUrls;
}

/**
 * Listens on MMOPS_LISTEN (and MMOPS_OPS_LISTEN); health answers from here on. Each server
 * is published as soon as it exists, so a failure from here on closes it.
 */
export async function listen(rt: BotRuntime): Promise<Listening> {
  const { config, log } = rt;
  const slashRoute = { method: 'POST' as const, path: SLASH_PATH, handle: slashHandler(rt) };
  const callbackRoutes = [
    { method: 'POST' as const, path: ACTIONS_PATH, handle: actionHandler(rt) },
    { method: 'POST' as const, path: DIALOGS_PATH, handle: dialogHandler(rt) },
  ];
  const opsRoutes = createOpsRoutes({ readiness: rt.readiness, metrics: () => rt.metrics.render(), logger: log });
  // With MMOPS_OPS_LISTEN the main listener serves /slash alone, so it can be exposed
  // to the Mattermost server without exposing health and metrics.
  const http = createHttpServer({
    listen: config.listen,
    logger: log,
    maxConnections: config.limits.maxConnections,
    routes: config.opsListen ? [slashRoute, ...callbackRoutes] : [slashRoute, ...callbackRoutes, ...opsRoutes],
  });
  rt.published.http = http;
  const bound = await startListener(http, 'MMOPS_LISTEN', config.listen);
  rt.published.bound = bound;
  let ops: { opsHttp: HttpServer; opsBound: ListenAddress } | undefined;
  if (config.opsListen) {
    const opsHttp = createHttpServer({ listen: config.opsListen, logger: log, routes: opsRoutes });
    rt.published.opsHttp = opsHttp;
    ops = { opsHttp, opsBound: await startListener(opsHttp, 'MMOPS_OPS_LISTEN', config.opsListen) };
  }
  const base = resolvePublicUrl(config, bound);
  const urls: BotUrls = { slash: `${base}${SLASH_PATH}`, actions: `${base}${ACTIONS_PATH}`, dialogs: `${base}${DIALOGS_PATH}` };
  if (!config.publicUrl && (bound.host === '0.0.0.0' || bound.host === '::')) {
    log.warn(
      { slashUrl: urls.slash },
      `MMOPS_PUBLIC_URL is not set, so slash commands point at ${urls.slash}, which only works when Mattermost runs on this machine; set MMOPS_PUBLIC_URL to the address Mattermost can reach (e.g. MMOPS_PUBLIC_URL=https://mmops.example.com)`,
    );
  }
  log.info({ url: urlOf(bound), slashUrl: urls.slash, ...(ops ? { opsUrl: urlOf(ops.opsBound) } : {}) }, 'HTTP endpoint listening');
  return { http, bound, ...ops, urls };
}

function slashHandler(rt: BotRuntime): ReturnType<typeof createSlashEndpoint> {
  return createSlashEndpoint({
    // the routes exist before the parts they call: until start-up publishes one, its
    // requests are refused or answered "still starting"
    authenticate: async (token, teamId) => rt.published.registration?.authenticate(token, teamId),
    knownToken: (token) => rt.published.registration?.verify(token) !== undefined,
    // before start-up knows the key nothing is trusted: refuse rather than run unchecked
    checkCaller: async (req) => (rt.published.trust ? rt.published.trust.check(req) : { verdict: 'refused', reason: 'missing' }),
    run: (inv) => runInvocation(rt, inv),
    render,
    attachments: (r) => renderAttachments(r.buttons, rt.published.urls.actions),
    openDialog: async (triggerId, dialog, inv) => (rt.published.dialogs ? rt.published.dialogs.open(triggerId, dialog, inv) : false),
    respondLater: (url, body, to) => rt.delayed.deliver(url, body, to),
    work: rt.work,
    logger: rt.log,
    onStatus: (s) => rt.metrics.slashRequest(s),
    ...(rt.deps.slowReplyMs !== undefined ? { slowAfterMs: rt.deps.slowReplyMs } : {}),
    now: rt.now,
  });
}

/**
 * A route for the server's JSON callbacks, handled by a service start-up builds later
 * (answers "still starting" until then): POST /actions (clicks, docs/mattermost-notes.md §8.4,
 * checked by src/services/confirmations.ts) and POST /dialogs (submissions, §8.7, checked by
 * src/services/dialogs.ts).
 */
function callbackHandler<S extends z.ZodType>(
  rt: BotRuntime,
  name: string,
  schema: S,
  handle: (body: z.infer<S>) => Promise<unknown> | undefined,
  answers: { starting: unknown; failed: unknown },
): ReturnType<typeof createCallbackEndpoint> {
  return createCallbackEndpoint({
    name,
    schema,
    handle: async (body) => (await handle(body)) ?? answers.starting,
    fallback: answers.failed,
    work: rt.work,
    logger: rt.log,
  });
}

const actionHandler = (rt: BotRuntime): ReturnType<typeof createCallbackEndpoint> =>
  callbackHandler(rt, 'action', actionRequestSchema, (req) => rt.published.confirmations?.click(req), {
    starting: { ephemeral_text: "I'm still starting; try again in a moment." },
    failed: { ephemeral_text: 'Sorry, something went wrong with that click; nothing was done.' },
  });

const dialogHandler = (rt: BotRuntime): ReturnType<typeof createCallbackEndpoint> =>
  callbackHandler(rt, 'dialog', dialogSubmissionSchema, (req) => rt.published.dialogs?.submit(req), {
    starting: { error: "I'm still starting; try again in a moment." },
    failed: { error: 'Sorry, something went wrong with that form; nothing was done.' },
  });

async function startListener(server: HttpServer, variable: string, where: ListenAddress): Promise<ListenAddress> {
  try {
    return await server.start();
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    const example = `${variable}=127.0.0.1:${variable === 'MMOPS_LISTEN' ? 3979 : 9090}`;
    throw new StartupError('config', `${variable}: ${whyNotListening(code, where, err)} (e.g. ${example})`, 2);
  }
}

function whyNotListening(code: string, where: ListenAddress, err: unknown): string {
  const at = `${where.host}:${where.port}`;
  if (code === 'EADDRINUSE') return `${at} is already in use; choose another port`;
  if (code === 'EACCES') return `not allowed to listen on ${at} (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return `${where.host} is not an address of this machine`;
  return `cannot listen on ${at} (${err instanceof Error ? err.message : String(err)})`;
}
