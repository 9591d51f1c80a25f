import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatDuration, formatNumber } from './format.js';

/** How a chart's values read on its axis and in its legend. */
export type ValueUnit = 'count' | 'rate' | 'duration';

export interface TimeSeries {
  label: string;
  /** One value per sample (null: no value at that moment). */
  values: readonly (number | null)[];
  /** A CSS colour. */
  color: string;
  /** Drawn dashed (a limit, not a measure). */
  dashed?: boolean;
}

const palette = ['#1f5fa8', '#b5512b', '#1b7f3b', '#7a3fa0', '#a45a00', '#0f7c8c', '#8a2846'];

/** The `index`-th colour of the charts' palette. */
export function seriesColor(index: number): string {
  return palette[index % palette.length]!;
}

function formatValue(unit: ValueUnit, value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return unit === 'duration' ? formatDuration(value) : formatNumber(Math.round(value * 10) / 10);
}

const height = 200;
const wholeIncrements = [1, 2, 5]
  .flatMap((base) => Array.from({ length: 10 }, (_unused, power) => base * 10 ** power))
  .sort((a, b) => a - b);

/**
 * A line chart over time with axes and a legend (uPlot on a canvas), sized to its container and
 * redrawn in place. Times are ms since epoch and shown in UTC, as every time on the dashboard.
 */
export class TimeChart {
  private plot: uPlot | null = null;
  private labels = '';
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(
    private readonly container: HTMLElement,
    private readonly title: string,
    private readonly unit: ValueUnit,
  ) {
    this.resize.observe(container);
  }

  /** Draw `series` at times `at`; a change of the series set builds the chart anew. */
  show(at: readonly number[], series: readonly TimeSeries[]): void {
    const data: uPlot.AlignedData = [
      at.map((ms) => ms / 1000),
      ...series.map((s) => s.values.map((v) => v ?? null)),
    ];
    const labels = series.map((s) => `${s.label}|${s.color}|${s.dashed ? 1 : 0}`).join(',');
    if (this.plot && labels === this.labels) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.labels = labels;
    this.plot = new uPlot(this.options(series), data, this.container);
    this.container.setAttribute('data-series', String(series.length));
  }

  private width(): number {
    return Math.max(240, Math.floor(this.container.clientWidth));
  }

  private fit(): void {
    if (!this.plot || this.container.clientWidth === 0) return;
    const width = this.width();
    if (width !== this.plot.width) this.plot.setSize({ width, height });
  }

  private options(series: readonly TimeSeries[]): uPlot.Options {
    const unit = this.unit;
    const axisValues = (_self: uPlot, splits: number[]): string[] => splits.map((v) => formatValue(unit, v));
    return {
      title: this.title,
      width: this.width(),
      height,
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
      scales: {
        x: { time: true },
        y: { range: (_self, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        {
          stroke: '#4a5764',
          grid: { stroke: '#e3e8ee' },
          space: 80,
          // HH:MM:SS in UTC, as every time on the dashboard.
          values: (_self, splits) => splits.map((s) => new Date(s * 1000).toISOString().slice(11, 19)),
        },
        {
          stroke: '#4a5764',
          grid: { stroke: '#e3e8ee' },
          values: axisValues,
          size: 70,
          // Counts tick at whole numbers.
          ...(unit === 'count' ? { incrs: wholeIncrements } : {}),
        },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: 'Time (UTC)' },
        ...series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: false,
          points: { show: false },
          value: (_self, v) => formatValue(unit, v),
          ...(s.dashed ? { dash: [6, 4] } : {}),
        })),
      ],
    };
  }
}
