/**
 * The transport for the server's callbacks that carry JSON: button clicks (`POST /actions`,
 * docs/mattermost-notes.md §8.4) and dialog submissions (`POST /dialogs`, §8.7). It only
 * translates: reads a bounded JSON body, checks its shape with zod, hands it to the
 * handler and writes the handler's answer as JSON with status 200 (anything else shows the
 * clicker a generic error, §8.5). It decides nothing: whether a click is genuine is the
 * handler's job (src/services/confirmations.ts), because the server signs none of these.
 *
 * - not JSON, too large, or the wrong shape → 400 and one log line; nothing runs;
 * - during shutdown → 503;
 * - the handler throws → 200 with a one-line apology (the handler should not throw).
 *
 * @example
 *   routes.push({ method: 'POST', path: '/actions', handle: createCallbackEndpoint({
 *     name: 'action', schema: actionRequestSchema, handle: (r) => confirmations.click(r), fallback, work, logger }) });
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Logger } from '../core/command.js';
import { BodyTooLargeError, readBody, sendJson } from './http-server.js';
import type { InFlight } from './in-flight.js';

export interface CallbackEndpointOptions<S extends z.ZodType> {
  /** for log lines: `action`, `dialog` */
  name: string;
  schema: S;
  handle(body: z.infer<S>): Promise<unknown>;
  /** the answer when the handler fails unexpectedly */
  fallback: unknown;
  work: InFlight;
  logger: Logger;
  /** largest accepted body (default 64 KiB: a click is well under 8 KiB) */
  maxBodyBytes?: number;
}

/** Creates the request handler (see the module comment). */
export function createCallbackEndpoint<S extends z.ZodType>(opts: CallbackEndpointOptions<S>): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const log = opts.logger.child({ component: `${opts.name}-endpoint` });
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
  return async function handleCallback(req, res) {
    if (!opts.work.accepting) {
      req.resume();
      sendJson(res, 503, { error: 'shutting down' });
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      log.warn({ contentType: type ?? '' }, `${opts.name} request refused: not JSON`);
      sendJson(res, 400, { error: 'expected application/json' });
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (err) {
      const tooLarge = err instanceof BodyTooLargeError;
      log.warn({ limit: maxBodyBytes, tooLarge }, `${opts.name} request refused: ${tooLarge ? 'body too large' : 'unreadable body'}`);
      if (!res.headersSent) sendJson(res, tooLarge ? 413 : 400, { error: tooLarge ? 'request body too large' : 'unreadable body' });
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      log.warn({ bytes: body.length }, `${opts.name} request refused: malformed JSON`);
      sendJson(res, 400, { error: 'malformed JSON' });
      return;
    }
    const parsed = opts.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') ?? '';
      log.warn({ field: where, problem: issue?.message }, `${opts.name} request refused: unexpected shape`);
      sendJson(res, 400, { error: `malformed request: ${where} ${issue?.message ?? ''}`.trim() });
      return;
    }
    try {
      const answer = await opts.work.track(opts.handle(parsed.data));
      sendJson(res, 200, answer ?? {});
    } catch (err) {
      log.error({ err }, `${opts.name} handler failed`);
      if (!res.headersSent) sendJson(res, 200, opts.fallback);
    }
  };
}
