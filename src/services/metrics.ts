/**
 * Prometheus metrics for `GET /metrics` (text exposition format 0.0.4), with no
 * dependency: counters and histograms the bot updates as things happen, plus values
 * read from the API client, the WebSocket and the permission cache at scrape time.
 *
 * @example
 *   const metrics = createMetrics({ sources: { api: () => api.stats(), socket: () => socket.state() } });
 *   metrics.commandServed('whois', 'ok', 42);
 *   res.end(metrics.render());
 */
import type { ApiStats } from '../mattermost/api.js';

/** The Content-Type of {@link Metrics.render}'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Seconds; covers quick cache hits up to slow multi-call commands. */
const COMMAND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const API_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

/** Escapes a label value: backslash, double quote and newline (exposition format). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

const num = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

/** A counter family keyed by label values. */
class CounterFamily {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, by = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }
  lines(): string[] {
    return [...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${num(e.value)}`);
  }
}

/** A histogram family keyed by label values (cumulative buckets, sum, count). */
class HistogramFamily {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    const s = this.series.get(key) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count += 1;
    this.series.set(key, s);
  }
  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i] ?? 0}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** Values read when /metrics is scraped; any source may be absent. */
export interface MetricsSources {
  api?: () => ApiStats;
  socket?: () => { connected: boolean; reconnects: number };
  cache?: () => { hits: number; misses: number; size: number };
  /** ms since epoch when the process started */
  startedAt?: number;
}

export interface Metrics {
  /** One finished command (any transport). */
  commandServed(command: string, outcome: string, durationMs: number): void;
  /**
   * One HTTP attempt against the Mattermost API (the REST client's `onRequest` hook).
   * Feeds the latency histogram; counts by status come from the client's own stats.
   */
  apiRequest(info: { endpoint: string; status: number; ms: number }): void;
  /** One request to the slash endpoint, by the status we answered. */
  slashRequest(status: number): void;
  /** One `posted` event the WebSocket intake turned into a command. */
  wsCommand(source: string): void;
  /** Wires the scrape-time sources (once the API, socket and cache exist). */
  setSources(sources: MetricsSources): void;
  /** The exposition text. */
  render(): string;
}

/** Creates the metrics registry (see the module comment). */
export function createMetrics(init: { sources?: MetricsSources } = {}): Metrics {
  let sources: MetricsSources = init.sources ?? {};
  const commands = new CounterFamily('mmops_commands_total', 'Commands run, by command and outcome.');
  const commandLatency = new HistogramFamily('mmops_command_duration_seconds', 'Time from receiving a command to its reply, by command.', COMMAND_BUCKETS);
  const apiLatency = new HistogramFamily('mmops_api_request_duration_seconds', 'Mattermost API request latency per attempt, by endpoint.', API_BUCKETS);
  const slash = new CounterFamily('mmops_slash_requests_total', 'Requests to the slash-command endpoint, by HTTP status answered.');
  const wsCommands = new CounterFamily('mmops_ws_commands_total', 'Posts received over the WebSocket that carried a command, by source.');

  function family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, lines: string[]): string[] {
    return [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`, ...lines];
  }

  function render(): string {
    const out: string[] = [];
    out.push(...family(commands.name, 'counter', commands.help, commands.lines()));
    out.push(...family(commandLatency.name, 'histogram', commandLatency.help, commandLatency.lines()));
    out.push(...family(slash.name, 'counter', slash.help, slash.lines()));
    out.push(...family(wsCommands.name, 'counter', wsCommands.help, wsCommands.lines()));

    const api = sources.api?.();
    const apiLines: string[] = [];
    if (api) {
      for (const [endpoint, e] of Object.entries(api.byEndpoint)) {
        for (const [status, count] of Object.entries(e.byStatus)) {
          apiLines.push(`mmops_api_requests_total${labelText({ endpoint, status })} ${count}`);
        }
      }
    }
    out.push(...family('mmops_api_requests_total', 'counter', 'Mattermost API requests (attempts), by endpoint and status (0 = no response).', apiLines));
    out.push(...family(apiLatency.name, 'histogram', apiLatency.help, apiLatency.lines()));
    out.push(...family('mmops_api_rate_limit_waits_total', 'counter', 'Times the API client waited for a rate limit.', api ? [`mmops_api_rate_limit_waits_total ${api.rateLimitWaits}`] : []));
    out.push(...family('mmops_api_retries_total', 'counter', 'API requests retried after a transient failure.', api ? [`mmops_api_retries_total ${api.retries}`] : []));

    const ws = sources.socket?.();
    out.push(...family('mmops_websocket_connected', 'gauge', '1 while the WebSocket is connected and authenticated.', ws ? [`mmops_websocket_connected ${ws.connected ? 1 : 0}`] : []));
    out.push(...family('mmops_websocket_reconnects_total', 'counter', 'WebSocket reconnects since start.', ws ? [`mmops_websocket_reconnects_total ${ws.reconnects}`] : []));

    const cache = sources.cache?.();
    out.push(...family('mmops_cache_hits_total', 'counter', 'Permission cache hits.', cache ? [`mmops_cache_hits_total ${cache.hits}`] : []));
    out.push(...family('mmops_cache_misses_total', 'counter', 'Permission cache misses.', cache ? [`mmops_cache_misses_total ${cache.misses}`] : []));
    out.push(...family('mmops_cache_entries', 'gauge', 'Entries in the permission cache.', cache ? [`mmops_cache_entries ${cache.size}`] : []));

    if (sources.startedAt !== undefined) {
      out.push(...family('mmops_start_time_seconds', 'gauge', 'Start time of the bot, seconds since the epoch.', [`mmops_start_time_seconds ${sources.startedAt / 1000}`]));
    }
    return `${out.join('\n')}\n`;
  }

  return {
    commandServed(command, outcome, durationMs) {
      commands.inc({ command, outcome });
      commandLatency.observe({ command }, durationMs / 1000);
    },
    apiRequest({ endpoint, ms }) {
      apiLatency.observe({ endpoint }, ms / 1000);
    },
    slashRequest(status) {
      slash.inc({ status: String(status) });
    },
    wsCommand(source) {
      wsCommands.inc({ source });
    },
    setSources(next) {
      sources = { ...sources, ...next };
    },
    render,
  };
}
