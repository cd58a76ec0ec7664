// Charts, all drawn with uPlot (canvas; tens of thousands of points redraw in milliseconds, 50 kB).
// Two shapes cover every view: lines over a step axis (with confidence bands, reference lines and
// markers) and scatters of categories (with click-through to the point).
import uPlot from "uplot";

export const palette = ["#2f6fdf", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#868e96", "#e67700"];

function sizeOf(el: HTMLElement, height: number): { width: number; height: number } {
  return { width: Math.max(320, el.clientWidth || 640), height };
}

// Keeps a chart as wide as its container.
function followWidth(chart: uPlot, el: HTMLElement, height: number): () => void {
  const observer = new ResizeObserver(() => chart.setSize(sizeOf(el, height)));
  observer.observe(el);
  return () => observer.disconnect();
}

export interface Chart {
  // Replaces the data (same series); cheap enough to call on every live update.
  update(x: number[], ys: (number | null)[][]): void;
  destroy(): void;
}

export interface LineSeries {
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  // Points only (decision markers, alarms); no line.
  markers?: boolean;
}

export interface LineOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  // Shaded bands between two series, by index into `series` (upper first).
  bands?: [number, number][];
  yLog?: boolean;
  yRange?: [number, number];
  height?: number;
}

export function lineChart(el: HTMLElement, options: LineOptions, x: number[], ys: (number | null)[][]): Chart {
  const height = options.height ?? 260;
  const opts: uPlot.Options = {
    title: options.title,
    ...sizeOf(el, height),
    scales: {
      x: { time: false },
      y: options.yLog
        ? { distr: 3, log: 10 }
        : options.yRange
          ? { range: options.yRange }
          : {},
    },
    axes: [{ label: options.xLabel }, { label: options.yLabel, size: 60 }],
    series: [
      { label: options.xLabel },
      ...options.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? 1.5,
        dash: s.dash,
        spanGaps: false,
        ...(s.markers
          ? { paths: () => null, points: { show: true, size: 9, stroke: s.color, fill: s.color } }
          : { points: { show: false } }),
      })),
    ],
    bands: (options.bands ?? []).map(([hi, lo]) => ({
      series: [hi + 1, lo + 1] as [number, number],
      fill: hexAlpha(options.series[hi].color, 0.15),
    })),
    cursor: { drag: { x: true, y: false } },
  };
  const chart = new uPlot(opts, [x, ...ys] as uPlot.AlignedData, el);
  const stop = followWidth(chart, el, height);
  return {
    update(nx, nys) {
      chart.setData([nx, ...nys] as uPlot.AlignedData);
    },
    destroy() {
      stop();
      chart.destroy();
    },
  };
}

export interface ScatterGroup {
  label: string;
  color: string;
}

export interface ScatterPoint {
  x: number;
  y: number;
  group: number;
  // What a click hands back (a row index, an item id's position, ...).
  key: number;
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  groups: ScatterGroup[];
  height?: number;
  onPick?: (key: number) => void;
}

// A scatter of many points in categories; a click picks the nearest point within 12 pixels.
export function scatterChart(el: HTMLElement, options: ScatterOptions, points: ScatterPoint[]): { destroy(): void; highlight(keys: number[]): void } {
  const height = options.height ?? 320;
  const sorted = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
  const xs = sorted.map((p) => p.x);
  const ys = options.groups.map((_, g) => sorted.map((p) => (p.group === g ? p.y : null)));
  let highlighted: number[] = [];
  const series: uPlot.Series[] = [
    { label: options.xLabel },
    ...options.groups.map((g) => ({
      label: `${g.label} (${sorted.filter((p) => options.groups[p.group] === g).length})`,
      stroke: g.color,
      fill: g.color,
      paths: () => null,
      points: { show: true, size: 5, stroke: g.color, fill: hexAlpha(g.color, 0.55), width: 1 },
    })),
  ];
  const opts: uPlot.Options = {
    title: options.title,
    ...sizeOf(el, height),
    scales: { x: { time: false } },
    axes: [{ label: options.xLabel }, { label: options.yLabel, size: 60 }],
    series,
    legend: { live: false },
    cursor: { points: { show: false }, drag: { x: true, y: true, uni: 20 } },
    hooks: {
      draw: [
        (u) => {
          // The highlighted points: rings drawn over the others.
          const ctx = u.ctx;
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.strokeStyle = "#111";
          for (const key of highlighted) {
            const p = sorted.find((q) => q.key === key);
            if (!p) continue;
            const cx = u.valToPos(p.x, "x", true);
            const cy = u.valToPos(p.y, "y", true);
            ctx.beginPath();
            ctx.arc(cx, cy, 7 * devicePixelRatio, 0, 2 * Math.PI);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
  const chart = new uPlot(opts, [xs, ...ys] as uPlot.AlignedData, el);
  const over = chart.over;
  over.style.cursor = options.onPick ? "pointer" : "default";
  over.addEventListener("click", (event) => {
    if (!options.onPick) return;
    const rect = over.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    let best = -1;
    let bestD = 144; // 12 px, squared
    for (let i = 0; i < sorted.length; i++) {
      const p = sorted[i];
      if (!chart.series[p.group + 1].show) continue;
      const dx = chart.valToPos(p.x, "x") - px;
      const dy = chart.valToPos(p.y, "y") - py;
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    if (best >= 0) options.onPick(sorted[best].key);
  });
  const stop = followWidth(chart, el, height);
  return {
    highlight(keys) {
      highlighted = keys;
      chart.redraw(false, false);
    },
    destroy() {
      stop();
      chart.destroy();
    },
  };
}

function hexAlpha(hex: string, alpha: number): string {
  const v = parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255}, ${alpha})`;
}
