import type { StatusSample } from '../api-types.js';
import { findElement } from '../dom.js';
import { seriesColor, TimeChart, type TimeSeries } from '../time-chart.js';
import type { Panel } from './panel.js';

/**
 * "Last hour": throughput, lag, backlog and the Campaign call budget over the samples of
 * `/api/history`, as charts with time and value axes.
 */
export function createChartsPanel(): Panel {
  const throughput = new TimeChart(
    findElement('#chart-throughput', HTMLElement),
    'Throughput (per second)',
    'rate',
  );
  const lag = new TimeChart(findElement('#chart-lag', HTMLElement), 'Lag, staged → applied', 'duration');
  const backlog = new TimeChart(
    findElement('#chart-backlog', HTMLElement),
    'Backlog (queued + in flight)',
    'count',
  );
  const budget = new TimeChart(
    findElement('#chart-budget', HTMLElement),
    'Campaign calls per second',
    'rate',
  );

  return {
    showStatus(status, history: readonly StatusSample[]) {
      const at = history.map((s) => s.at);
      const pick = (f: (s: StatusSample) => number | null | undefined): (number | null)[] =>
        history.map((s) => f(s) ?? null);
      throughput.show(at, [
        { label: 'Records applied', values: pick((s) => s.recordsPerSecond), color: seriesColor(0) },
        { label: 'Campaign calls', values: pick((s) => s.callsInLastSecond), color: seriesColor(1) },
      ]);
      lag.show(at, [
        { label: 'p50', values: pick((s) => s.lagP50Ms), color: seriesColor(0) },
        { label: 'p99', values: pick((s) => s.lagP99Ms), color: seriesColor(1) },
      ]);
      const flows = status.flows.map((f) => f.id);
      backlog.show(
        at,
        flows.map((flow, index): TimeSeries => ({
          label: flow,
          values: pick((s) => {
            const f = s.flows[flow];
            return f ? f.queued + f.leased : null;
          }),
          color: seriesColor(index),
        })),
      );
      budget.show(at, [
        {
          label: 'Calls in the last second',
          values: pick((s) => s.callsInLastSecond),
          color: seriesColor(0),
        },
        { label: 'Rate in force', values: pick((s) => s.callsPerSecond), color: seriesColor(2) },
        {
          label: 'Ceiling',
          values: pick((s) => s.callsPerSecondLimit),
          color: '#8a96a3',
          dashed: true,
        },
      ]);
    },
  };
}
