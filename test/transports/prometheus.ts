/**
 * A strict parser of the Prometheus text exposition format (0.0.4) for tests: it
 * fails the test on any line that a Prometheus server would reject.
 */
import { expect } from 'vitest';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the Prometheus text exposition format (0.0.4): HELP/TYPE lines,
 * samples with optional labels; every sample belongs to a declared family.
 */
export function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  expect(text.endsWith('\n')).toBe(true);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(?:,|$)/y;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      expect(line, line).toMatch(new RegExp(`^# HELP ${NAME} .*$`));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      expect(m, line).not.toBeNull();
      if (!m?.[1] || !m[2]) continue;
      expect(types.has(m[1]), `duplicate TYPE ${m[1]}`).toBe(false);
      types.set(m[1], m[2]);
      continue;
    }
    const m = sampleRe.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelRe.lastIndex = 0;
      let consumed = 0;
      let lm: RegExpExecArray | null;
      while ((lm = labelRe.exec(m[2])) !== null) {
        labels[lm[1] ?? ''] = (lm[2] ?? '').replace(/\\(\\|"|n)/g, (_e, c: string) => (c === 'n' ? '\n' : c));
        consumed = labelRe.lastIndex;
      }
      expect(consumed, `bad labels in ${line}`).toBe(m[2].length);
    }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    expect(Number.isNaN(value), line).toBe(false);
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    expect(types.has(m[1]) || types.get(family) === 'histogram', `sample ${m[1]} without TYPE`).toBe(true);
    samples.push({ name: m[1], labels, value });
  }
  return { types, samples };
}

