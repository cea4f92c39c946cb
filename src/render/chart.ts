/**
 * The activity chart of `report`: posts (bars) and people who posted (line) per day, drawn
 * by ECharts' server-side SVG renderer and turned into a PNG by resvg (a Rust renderer
 * shipped as a prebuilt binary in its npm package: no browser, no canvas, no system
 * libraries).
 *
 * The picture carries its own neutral light background and explicit text colours, so it
 * reads the same in Mattermost's light and dark themes (a transparent chart would put dark
 * axis labels on a dark background). Animation is off (a server-side render draws the
 * first frame only) and the chart is disposed after each render, so nothing is kept.
 *
 * @example
 *   const png = await activityChartPng({ days: ['2026-12-06', '2026-12-07'], posts: [40, 52], people: [7, 9] });
 */
// Both are loaded on the first chart only: ECharts is a large module, and a bot that is never
// asked for a report should not carry it in its (capped) heap.
type ECharts = typeof import('echarts');
type ResvgModule = typeof import('@resvg/resvg-js');
let libs: Promise<{ echarts: ECharts; resvg: ResvgModule }> | undefined;
const load = (): Promise<{ echarts: ECharts; resvg: ResvgModule }> =>
  (libs ??= Promise.all([import('echarts'), import('@resvg/resvg-js')]).then(([echarts, resvg]) => ({ echarts, resvg })));

/** The size of the PNG (pixels); readable in a post preview, sharp when opened. */
export const CHART_SIZE = { width: 960, height: 420 } as const;

export interface DailyActivity {
  /** `YYYY-MM-DD`, oldest first */
  days: string[];
  posts: number[];
  people: number[];
}

const INK = '#1f2329';
const MUTED = '#5d6470';
const GRID = '#d9dde3';
const BACKGROUND = '#f5f6f8';
const POSTS = '#1c58d9';
const PEOPLE = '#d24b00';

/** The chart as an SVG document. */
export async function activityChartSvg(data: DailyActivity, title: string, size: { width: number; height: number } = CHART_SIZE): Promise<string> {
  const { echarts } = await load();
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: BACKGROUND,
      textStyle: { fontFamily: 'DejaVu Sans, Liberation Sans, Arial, sans-serif', color: INK },
      title: { text: title, left: 16, top: 10, textStyle: { color: INK, fontSize: 16, fontWeight: 'bold' } },
      legend: { top: 12, right: 16, textStyle: { color: INK }, data: ['Posts', 'People who posted'] },
      grid: { left: 56, right: 56, top: 56, bottom: 48 },
      xAxis: {
        type: 'category',
        data: data.days.map((d) => d.slice(5)),
        axisLine: { lineStyle: { color: MUTED } },
        axisLabel: { color: MUTED, interval: Math.max(0, Math.ceil(data.days.length / 10) - 1) },
      },
      yAxis: [
        { type: 'value', name: 'posts', nameTextStyle: { color: MUTED }, axisLabel: { color: MUTED }, splitLine: { lineStyle: { color: GRID } }, minInterval: 1 },
        { type: 'value', name: 'people', nameTextStyle: { color: MUTED }, axisLabel: { color: MUTED }, splitLine: { show: false }, minInterval: 1 },
      ],
      series: [
        { name: 'Posts', type: 'bar', data: data.posts, itemStyle: { color: POSTS }, barMaxWidth: 18 },
        { name: 'People who posted', type: 'line', yAxisIndex: 1, data: data.people, lineStyle: { color: PEOPLE, width: 3 }, itemStyle: { color: PEOPLE }, symbolSize: 6 },
      ],
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** The chart as PNG bytes of {@link CHART_SIZE} (or `size`). */
export async function activityChartPng(data: DailyActivity, title = 'Activity, last 30 days', size: { width: number; height: number } = CHART_SIZE): Promise<Uint8Array> {
  const svg = await activityChartSvg(data, title, size);
  const { Resvg } = (await load()).resvg;
  const png = new Resvg(svg, { fitTo: { mode: 'original' }, background: BACKGROUND, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  return new Uint8Array(png);
}

/** Width and height from a PNG's IHDR chunk, or undefined when `bytes` is not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.slice(12, 16)) !== 'IHDR') return undefined;
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
