import { describe, expect, it } from 'vitest';
import { TableStatistics } from '../../../src/store/sql/table-statistics.js';

function countingDriver(): { refreshed: string[]; refreshStatistics(table: string): Promise<void> } {
  const refreshed: string[] = [];
  return {
    refreshed,
    refreshStatistics(table: string) {
      refreshed.push(table);
      return Promise.resolve();
    },
  };
}

describe('TableStatistics', () => {
  it('refreshes a table once 1,000 rows were inserted, then not again within the interval', async () => {
    const driver = countingDriver();
    const statistics = new TableStatistics(driver, 'work_items');
    statistics.noteInserted(999);
    expect(driver.refreshed).toEqual([]);
    statistics.noteInserted(1);
    expect(driver.refreshed).toEqual(['work_items']);
    await Promise.resolve();
    statistics.noteInserted(50_000);
    expect(driver.refreshed).toEqual(['work_items']);
  });

  it('ignores a failed refresh (the old statistics stay)', async () => {
    let calls = 0;
    const statistics = new TableStatistics(
      {
        refreshStatistics: () => {
          calls++;
          return Promise.reject(new Error('must be owner of table work_items'));
        },
      },
      'work_items',
    );
    statistics.noteInserted(5000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(1);
  });
});
