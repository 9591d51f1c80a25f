import type { SqlDriver } from './sql-driver.js';

/** Rows inserted before the first refresh, and between two. */
const rowsBetweenRefreshes = 1000;
/** At most one refresh per table and process in this long. */
const minRefreshIntervalMs = 30_000;

/**
 * Keeps the planner statistics of a fast-growing table current, so its plans follow what it holds.
 *
 * PostgreSQL plans from statistics that only ANALYZE (or autovacuum, when it is on and gets round
 * to it: up to a minute later, and never when it is off) refreshes. A table that grows from empty
 * — `work_items` during an initial load — is planned as if it held a handful of rows: the lease
 * then reads and sorts every queued item instead of walking the lease-order index to its limit,
 * a cost that grows with the backlog (40,000 queued contacts: ~50 ms per lease instead of < 1 ms,
 * and the work runner leases one batch at a time). So once `rowsBetweenRefreshes` rows have been
 * inserted by this process since its last refresh (and not more often than
 * `minRefreshIntervalMs`), the table is analysed in the background. ANALYZE reads a bounded
 * sample, takes no lock that blocks reads or writes, and a role that does not own the table gets
 * a warning, not an error; a failure only leaves the old statistics, so it is ignored.
 */
export class TableStatistics {
  private inserted = 0;
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly driver: Pick<SqlDriver, 'refreshStatistics'>,
    private readonly table: string,
  ) {}

  noteInserted(rows: number): void {
    this.inserted += rows;
    if (this.inserted < rowsBetweenRefreshes || this.refreshing !== null) return;
    // Real elapsed time, whatever clock the store runs on (as for the driver's busy waits).
    const now = performance.now();
    if (now - this.refreshedAt < minRefreshIntervalMs) return;
    this.inserted = 0;
    this.refreshedAt = now;
    this.refreshing = this.driver
      .refreshStatistics(this.table)
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = null;
      });
  }
}
