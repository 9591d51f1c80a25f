import type { ApiClient } from './api-client.js';
import type { HistoryAnswer, StatusSample, StatusSnapshot } from './api-types.js';

export type StatusListener = (status: StatusSnapshot, history: readonly StatusSample[]) => void;

/**
 * The latest `/api/status` and `/api/history`, read together. Panels draw from what it hands its
 * listeners; actions read {@link StatusFeed.latest} (a flow's breaker state, the dead-letter total).
 */
export class StatusFeed {
  private status: StatusSnapshot | null = null;
  private samples: readonly StatusSample[] = [];
  private readonly listeners: StatusListener[] = [];

  constructor(private readonly api: ApiClient) {}

  /** The last status read, or null before the first. */
  get latest(): StatusSnapshot | null {
    return this.status;
  }

  /** Call `listener` with every status read from now on. */
  onStatus(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  /**
   * Read the status now (and its history with `history: true`; else the last history read is
   * handed on), and hand them to the listeners.
   */
  async refresh(options: { history?: boolean } = {}): Promise<StatusSnapshot> {
    const [status, history] = await Promise.all([
      this.api.get<StatusSnapshot>('/api/status'),
      options.history ? this.api.get<HistoryAnswer>('/api/history') : Promise.resolve(null),
    ]);
    if (history) this.samples = history.items;
    this.status = status;
    for (const listener of this.listeners) listener(status, this.samples);
    return status;
  }
}
