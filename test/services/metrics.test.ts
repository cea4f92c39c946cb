import { describe, expect, it } from 'vitest';
import type { ApiStats } from '../../src/mattermost/api.js';
import { createMetrics, escapeLabelValue } from '../../src/services/metrics.js';
import { parseExposition, type Sample } from '../transports/prometheus.js';

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('metrics', () => {
  it('renders valid exposition text with no activity', () => {
    const { types } = parseExposition(createMetrics().render());
    expect(types.get('mmops_commands_total')).toBe('counter');
    expect(types.get('mmops_command_duration_seconds')).toBe('histogram');
  });

  it('counts commands by name and outcome and observes their latency', () => {
    const m = createMetrics();
    m.commandServed('whois', 'ok', 12);
    m.commandServed('whois', 'ok', 700);
    m.commandServed('whois', 'refused', 3);
    m.commandServed('teams', 'ok', 40);
    const { samples } = parseExposition(m.render());
    expect(find(samples, 'mmops_commands_total', { command: 'whois', outcome: 'ok' })).toBe(2);
    expect(find(samples, 'mmops_commands_total', { command: 'whois', outcome: 'refused' })).toBe(1);
    expect(find(samples, 'mmops_command_duration_seconds_count', { command: 'whois' })).toBe(3);
    expect(find(samples, 'mmops_command_duration_seconds_sum', { command: 'whois' })).toBeCloseTo(0.715, 6);
    expect(find(samples, 'mmops_command_duration_seconds_bucket', { command: 'whois', le: '0.025' })).toBe(2);
    expect(find(samples, 'mmops_command_duration_seconds_bucket', { command: 'whois', le: '1' })).toBe(3);
    expect(find(samples, 'mmops_command_duration_seconds_bucket', { command: 'whois', le: '+Inf' })).toBe(3);
  });

  it('keeps histogram buckets cumulative', () => {
    const m = createMetrics();
    for (const ms of [1, 5, 20, 90, 300, 1500, 9000, 60_000]) m.commandServed('health', 'ok', ms);
    const { samples } = parseExposition(m.render());
    const buckets = samples.filter((s) => s.name === 'mmops_command_duration_seconds_bucket');
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(8);
    expect(buckets.at(-1)?.labels.le).toBe('+Inf');
  });

  it('reads API, WebSocket and cache values at scrape time', () => {
    const stats: ApiStats = {
      requests: 3,
      byEndpoint: { 'GET /api/v4/users/me': { count: 3, byStatus: { '200': 2, '401': 1 }, totalMs: 30 } },
      rateLimitWaits: 1,
      retries: 2,
      lastRoundTripMs: 5,
    };
    let ws = { connected: true, reconnects: 0 };
    const cache = { hits: 5, misses: 2, size: 4 };
    const m = createMetrics({ sources: { api: () => stats, socket: () => ws, cache: () => cache, startedAt: 1_700_000_000_000 } });
    m.apiRequest({ endpoint: 'GET /api/v4/users/me', status: 200, ms: 8 });
    let { samples } = parseExposition(m.render());
    expect(find(samples, 'mmops_api_requests_total', { endpoint: 'GET /api/v4/users/me', status: '200' })).toBe(2);
    expect(find(samples, 'mmops_api_requests_total', { endpoint: 'GET /api/v4/users/me', status: '401' })).toBe(1);
    expect(find(samples, 'mmops_api_request_duration_seconds_count', { endpoint: 'GET /api/v4/users/me' })).toBe(1);
    expect(find(samples, 'mmops_api_rate_limit_waits_total')).toBe(1);
    expect(find(samples, 'mmops_websocket_connected')).toBe(1);
    expect(find(samples, 'mmops_cache_hits_total')).toBe(5);
    expect(find(samples, 'mmops_cache_misses_total')).toBe(2);
    expect(find(samples, 'mmops_start_time_seconds')).toBe(1_700_000_000);

    ws = { connected: false, reconnects: 1 };
    stats.rateLimitWaits = 4;
    ({ samples } = parseExposition(m.render()));
    expect(find(samples, 'mmops_websocket_connected')).toBe(0);
    expect(find(samples, 'mmops_websocket_reconnects_total')).toBe(1);
    expect(find(samples, 'mmops_api_rate_limit_waits_total')).toBe(4);
  });

  it('escapes label values so odd input cannot break the format', () => {
    const m = createMetrics();
    m.commandServed('we"ird\\na\nme', 'ok', 1);
    m.slashRequest(401);
    const { samples } = parseExposition(m.render());
    expect(find(samples, 'mmops_commands_total', { command: 'we"ird\\na\nme' })).toBe(1);
    expect(find(samples, 'mmops_slash_requests_total', { status: '401' })).toBe(1);
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
