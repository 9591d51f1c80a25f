/** Opt-out flow modes (config `flows.optOut.mode`). */
export const optOutModes = [
  'disabled',
  'dynamics-to-campaign',
  'campaign-to-dynamics',
  'bidirectional',
] as const;
export type OptOutMode = (typeof optOutModes)[number];

/** Campaign attributes an opt-out mapping may target ("No longer contact by…" and CCPA). */
export const campaignOptOutAttributes = [
  'blackList',
  'blackListEmail',
  'blackListFax',
  'blackListMobile',
  'blackListPhone',
  'blackListPostalMail',
  'blackListPushnotification',
  'ccpaOptOut',
] as const;
export type CampaignOptOutAttribute = (typeof campaignOptOutAttributes)[number];

export function isCampaignOptOutAttribute(name: string): name is CampaignOptOutAttribute {
  return (campaignOptOutAttributes as readonly string[]).includes(name);
}

/** The rule that decided a resolution (recorded in the decision audit). */
export const optOutRules = [
  'campaign-newer',
  'dynamics-newer-or-equal-true-wins',
  'dynamics-newer-or-equal-both-false',
  'mode-dynamics-to-campaign',
  'mode-campaign-to-dynamics',
] as const;
export type OptOutRule = (typeof optOutRules)[number];

/** Both sides of one mapped opt-out attribute. */
export interface OptOutSides {
  dynamicsValue: boolean;
  /** Dynamics record-level change time (`modifiedon`), ms; null when unknown. */
  dynamicsModifiedOn: number | null;
  campaignValue: boolean;
  /** Campaign attribute-level change time (`blackList*LastModified`), ms; null when never set. */
  campaignLastModified: number | null;
}

export interface OptOutResolution {
  winner: boolean;
  rule: OptOutRule;
  /** The winner differs from the Dynamics value: write it to Dynamics. */
  writeDynamics: boolean;
  /** The winner differs from the Campaign value: write it to Campaign. */
  writeCampaign: boolean;
}

/**
 * Resolve one opt-out attribute by the configured mode (DESIGN.md §1, the seed's rule for
 * bidirectional): Campaign strictly newer → the Campaign value wins; Dynamics newer or equal →
 * `true` (opted out) wins when either side is `true`. An unknown time counts as older than any
 * known time. Not defined for `disabled` (nothing is resolved).
 */
export function resolveOptOut(mode: Exclude<OptOutMode, 'disabled'>, sides: OptOutSides): OptOutResolution {
  let winner: boolean;
  let rule: OptOutRule;
  if (mode === 'dynamics-to-campaign') {
    winner = sides.dynamicsValue;
    rule = 'mode-dynamics-to-campaign';
  } else if (mode === 'campaign-to-dynamics') {
    winner = sides.campaignValue;
    rule = 'mode-campaign-to-dynamics';
  } else {
    const d = sides.dynamicsModifiedOn ?? Number.NEGATIVE_INFINITY;
    const c = sides.campaignLastModified ?? Number.NEGATIVE_INFINITY;
    if (c > d) {
      winner = sides.campaignValue;
      rule = 'campaign-newer';
    } else if (sides.dynamicsValue || sides.campaignValue) {
      winner = true;
      rule = 'dynamics-newer-or-equal-true-wins';
    } else {
      winner = false;
      rule = 'dynamics-newer-or-equal-both-false';
    }
  }
  return {
    winner,
    rule,
    writeDynamics: winner !== sides.dynamicsValue,
    writeCampaign: winner !== sides.campaignValue,
  };
}
