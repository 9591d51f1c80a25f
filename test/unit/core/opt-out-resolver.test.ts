import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { resolveOptOut, type OptOutSides } from '../../../src/core/opt-out-resolver.js';

const time = fc.option(fc.integer({ min: 0, max: 10 }), { nil: null });
const sides = fc.record({
  dynamicsValue: fc.boolean(),
  dynamicsModifiedOn: time,
  campaignValue: fc.boolean(),
  campaignLastModified: time,
});

describe('bidirectional opt-out resolver', () => {
  // The full truth table: values × timestamp order (Campaign newer, equal, Dynamics newer).
  const cases: [boolean, boolean, 'campaign-newer' | 'equal' | 'dynamics-newer', boolean][] = [
    [false, false, 'campaign-newer', false],
    [false, true, 'campaign-newer', true],
    [true, false, 'campaign-newer', false],
    [true, true, 'campaign-newer', true],
    [false, false, 'equal', false],
    [false, true, 'equal', true],
    [true, false, 'equal', true],
    [true, true, 'equal', true],
    [false, false, 'dynamics-newer', false],
    [false, true, 'dynamics-newer', true],
    [true, false, 'dynamics-newer', true],
    [true, true, 'dynamics-newer', true],
  ];
  it.each(cases)('dynamics=%s campaign=%s when %s → %s', (d, c, order, expected) => {
    const s: OptOutSides = {
      dynamicsValue: d,
      campaignValue: c,
      dynamicsModifiedOn: 1000,
      campaignLastModified: order === 'campaign-newer' ? 2000 : order === 'equal' ? 1000 : 500,
    };
    const r = resolveOptOut('bidirectional', s);
    expect(r.winner).toBe(expected);
    expect(r.writeDynamics).toBe(expected !== d);
    expect(r.writeCampaign).toBe(expected !== c);
  });

  it('treats a never-set Campaign attribute as older than Dynamics', () => {
    expect(
      resolveOptOut('bidirectional', {
        dynamicsValue: false,
        dynamicsModifiedOn: 5,
        campaignValue: true,
        campaignLastModified: null,
      }).winner,
    ).toBe(true);
    expect(
      resolveOptOut('bidirectional', {
        dynamicsValue: true,
        dynamicsModifiedOn: 5,
        campaignValue: false,
        campaignLastModified: null,
      }).rule,
    ).toBe('dynamics-newer-or-equal-true-wins');
  });

  it('I7: a true is lost only when Campaign is strictly newer and says false', () => {
    fc.assert(
      fc.property(sides, (s) => {
        const r = resolveOptOut('bidirectional', s);
        const hadTrue = s.dynamicsValue || s.campaignValue;
        if (hadTrue && !r.winner) {
          const c = s.campaignLastModified ?? -Infinity;
          const d = s.dynamicsModifiedOn ?? -Infinity;
          return c > d && s.campaignValue === false && r.rule === 'campaign-newer';
        }
        return true;
      }),
    );
  });

  it('writes the winner to both sides: after applying, both agree', () => {
    fc.assert(
      fc.property(sides, (s) => {
        const r = resolveOptOut('bidirectional', s);
        const d = r.writeDynamics ? r.winner : s.dynamicsValue;
        const c = r.writeCampaign ? r.winner : s.campaignValue;
        return d === r.winner && c === r.winner;
      }),
    );
  });

  it('is idempotent: resolving the agreed state changes nothing', () => {
    fc.assert(
      fc.property(sides, (s) => {
        const r = resolveOptOut('bidirectional', s);
        const again = resolveOptOut('bidirectional', {
          ...s,
          dynamicsValue: r.winner,
          campaignValue: r.winner,
        });
        return !again.writeCampaign && !again.writeDynamics && again.winner === r.winner;
      }),
    );
  });
});

describe('one-way opt-out modes', () => {
  it('dynamics-to-campaign: Campaign follows Dynamics, whatever the times', () => {
    fc.assert(
      fc.property(sides, (s) => {
        const r = resolveOptOut('dynamics-to-campaign', s);
        return r.winner === s.dynamicsValue && !r.writeDynamics;
      }),
    );
  });

  it('campaign-to-dynamics: Dynamics follows Campaign, whatever the times', () => {
    fc.assert(
      fc.property(sides, (s) => {
        const r = resolveOptOut('campaign-to-dynamics', s);
        return r.winner === s.campaignValue && !r.writeCampaign;
      }),
    );
  });
});
