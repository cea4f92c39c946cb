/**
 * The single-attempt transport of the REST client, on @mattermost/client's Client4: one
 * HTTP request, no retry, no timer, no counting (the layers above do those). It answers
 * with the response whatever its status, or throws an {@link AttemptError}: `bad-json`
 * when a JSON-typed body does not parse, else `network` (with `notSent` when the request
 * certainly never left: refused, DNS).
 *
 * @example
 *   const http = createHttpTransport({ url: 'https://chat.example.com', token });
 *   const res = await http.send(request, signal);
 */
import pkg from '@mattermost/client';
import type { Send } from './layer.js';
import { type ApiRequest, AttemptError, type RawResponse, type ResponseBody } from './request.js';

// Client4 is published as CommonJS: a default import gives module.exports.
const { Client4, ClientError } = pkg;

/** What `Client4.doFetchWithResponse` gives back (it is private in the typings). */
type DoFetchWithResponse = (
  url: string,
  options: {
    method: string;
    body?: string | FormData;
    signal?: AbortSignal;
    ignoreStatus: boolean;
    headers?: Record<string, string>;
  },
) => Promise<{ response: Response; data: unknown }>;

export interface HttpTransport {
  send: Send<ApiRequest, RawResponse>;
  /** `https://host/api/v4`: what request URLs start with */
  readonly baseRoute: string;
  /** `/api/v4`: what endpoint labels start with after the method */
  readonly urlVersion: string;
  /** `s` with the token cut out: nothing the server or the runtime says may carry it further */
  redact(s: string): string;
}

const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Creates the transport for `url` (no `/api/v4`) with the bot's token. */
export function createHttpTransport(opts: { url: string; token: string }): HttpTransport {
  const token = opts.token;
  const client = new Client4();
  client.setUrl(opts.url.replace(/\/+$/, ''));
  client.setToken(token);
  client.setIncludeCookies(false);
  client.setUserAgent('mmops');
  const doFetch: DoFetchWithResponse = client['doFetchWithResponse'];
  const redact = (s: string): string => (token.length >= 4 ? s.split(token).join('[redacted]') : s);

  async function attempt(req: ApiRequest, signal: AbortSignal | undefined): Promise<RawResponse> {
    if (req.upload) {
      // a raw upload body (POST /files?channel_id=&filename=, api4/file.go uploadFileSimple):
      // plain fetch, streamed when the body is a stream (the server takes a chunked body)
      const headers: Record<string, string> = { ...client.getOptions({ method: req.method }).headers, 'Content-Type': req.upload.contentType };
      const made = req.upload.body();
      const body: BodyInit = made instanceof Uint8Array ? new Blob([new Uint8Array(made)]) : streamOf(made);
      const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, body, signal: signal ?? null, ...(made instanceof Uint8Array ? {} : { duplex: 'half' }) };
      const response = await fetch(req.url, init);
      return readFetchResponse(response, false);
    }
    const body = req.form ? req.form() : req.json === undefined ? undefined : JSON.stringify(req.json);
    if (req.read === 'bytes') {
      // Client4 reads every non-JSON body as text (corrupting bytes): plain fetch for files.
      const headers: Record<string, string> = client.getOptions({ method: req.method }).headers;
      if (typeof body === 'string') headers['Content-Type'] = 'application/json';
      const response = await fetch(req.url, { method: req.method, headers, body, signal: signal ?? null });
      return readFetchResponse(response, response.ok);
    }
    const { response, data } = await doFetch(req.url, { method: req.method, body, signal, ignoreStatus: true });
    const contentType = response.headers.get('content-type') ?? '';
    let parsed: ResponseBody;
    if (typeof data === 'string') {
      // Client4 parses JSON only for exactly `application/json`; accept parameters too.
      parsed = isJsonType(contentType) ? { kind: 'json', value: parseJsonText(data) } : { kind: 'text', value: data };
    } else {
      parsed = { kind: 'json', value: data };
    }
    return { status: response.status, statusText: response.statusText, headers: response.headers, contentType, body: parsed };
  }

  return {
    async send(req, signal) {
      try {
        return await attempt(req, signal);
      } catch (err) {
        throw classifyThrown(err, redact);
      }
    },
    baseRoute: client.getBaseRoute(),
    urlVersion: client.getUrlVersion(),
    redact,
  };
}

/** A pull stream over `iter`: the next chunk is made only when fetch wants it (back-pressure). */
function streamOf(iter: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = iter[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

async function readFetchResponse(response: Response, asBytes: boolean): Promise<RawResponse> {
  const contentType = response.headers.get('content-type') ?? '';
  let body: ResponseBody;
  if (asBytes) body = { kind: 'bytes', value: new Uint8Array(await response.arrayBuffer()) };
  else {
    const text = await response.text();
    body = isJsonType(contentType) ? { kind: 'json', value: parseJsonText(text) } : { kind: 'text', value: text };
  }
  return { status: response.status, statusText: response.statusText, headers: response.headers, contentType, body };
}

function classifyThrown(err: unknown, redact: (s: string) => string): AttemptError {
  // Client4 wraps body-read failures in a ClientError whose cause is the real error.
  const inner = err instanceof ClientError && err.cause !== undefined ? err.cause : err;
  if (inner instanceof BadJsonError || inner instanceof SyntaxError) {
    return new AttemptError({ type: 'bad-json' }, 'the body is not valid JSON');
  }
  const code = errorCode(inner);
  const notSent = code !== undefined && NOT_SENT_CODES.has(code);
  return new AttemptError({ type: 'network', notSent }, redact(describeNetworkError(inner, code)));
}

/** A JSON-typed body that did not parse. */
class BadJsonError extends Error {}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadJsonError('invalid JSON');
  }
}

function isJsonType(contentType: string): boolean {
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if ('code' in err && typeof err.code === 'string') return err.code;
  if ('cause' in err) return errorCode(err.cause);
  return undefined;
}

function describeNetworkError(err: unknown, code: string | undefined): string {
  const messages: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    if ('message' in current && typeof current.message === 'string' && current.message) messages.push(current.message);
    current = 'cause' in current ? current.cause : undefined;
  }
  const text = messages.join(': ') || String(err);
  const friendly =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host name not found'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'connection reset'
          : undefined;
  return truncate(friendly ? `${friendly} (${text})` : text, 300);
}

export function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
