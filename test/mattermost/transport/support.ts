/** Shared bits of the transport layer tests: a request, responses, and a scripted `next`. */
import type { Send } from '../../../src/mattermost/transport/layer.js';
import { type ApiRequest, AttemptError, type AttemptOutcome, type RawResponse } from '../../../src/mattermost/transport/request.js';
import type { RequestKind } from '../../../src/mattermost/retry-policy.js';

export function request(kind: RequestKind = 'read', retries = 2): ApiRequest {
  return {
    method: 'GET',
    url: 'http://mm.test/api/v4/users/me',
    endpoint: 'GET /api/v4/users/me',
    kind,
    read: 'client4',
    retries,
    rateLimitRetries: 0,
    pauseCounted: false,
  };
}

export function response(status: number, headers: Record<string, string> = {}): RawResponse {
  return { status, statusText: '', headers: new Headers(headers), contentType: 'application/json', body: { kind: 'json', value: {} } };
}

export const failure = (outcome: AttemptOutcome, reason = 'boom'): AttemptError => new AttemptError(outcome, reason);

/** A `next` that plays `script` in order (a response, or an error to throw) and counts its calls. */
export function scripted(script: Array<RawResponse | Error>): Send<ApiRequest, RawResponse> & { calls: number } {
  const send = Object.assign(
    async () => {
      const step = script[send.calls++];
      if (step === undefined) throw new Error('script ran out');
      if (step instanceof Error) throw step;
      return step;
    },
    { calls: 0 },
  );
  return send;
}

export async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

export const quiet = { debug: () => {}, warn: () => {} };
