import { describe, expect, it } from 'vitest';
import { runKinds as serverRunKinds } from '../../../src/core/ports/state-store.js';
import { runKinds as dashboardRunKinds } from '../../../src/server/dashboard/client/api-types.js';

describe('the dashboard runs filter', () => {
  it('offers exactly the run kinds the store knows (the browser code keeps its own copy)', () => {
    expect([...dashboardRunKinds]).toEqual([...serverRunKinds]);
  });
});
