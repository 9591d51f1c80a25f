import type { CampaignCollections } from './campaign-collections.js';
import type { CampaignRecords } from './campaign-records.js';
import type { CampaignCallOptions, CampaignRecord } from './campaign-types.js';

export interface CampaignProfileLookupOptions {
  /**
   * How profiles are found by externalId: `customKey` = `GET …/profile/<externalId>` (needs the
   * key declared in Campaign); `filter` = the `byExternalId` custom filter. @default 'customKey'
   */
  profileLookup?: 'customKey' | 'filter' | undefined;
  /** Filter and parameter used when `profileLookup` is `filter`. @default byExternalId / externalId_parameter */
  externalIdFilter?: { name: string; parameter: string } | undefined;
}

/** Finding profiles: by the Dynamics id they carry (`externalId`) and by e-mail address. */
export class CampaignProfiles {
  constructor(
    private readonly records: CampaignRecords,
    private readonly collections: CampaignCollections,
    private readonly options: CampaignProfileLookupOptions,
  ) {}

  /** The profile whose `externalId` is `externalId`, or null. */
  async findByExternalId(
    externalId: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignRecord | null> {
    if ((this.options.profileLookup ?? 'customKey') === 'customKey')
      return this.records.findByKey('profile', externalId, options);
    const filter = this.options.externalIdFilter ?? {
      name: 'byExternalId',
      parameter: 'externalId_parameter',
    };
    const page = await this.collections.listPage('profile', {
      ...options,
      filter: filter.name,
      params: { [filter.parameter]: externalId },
      lineCount: 2,
    });
    return page.content[0] ?? null;
  }

  /** Profiles whose email is `email` (`byEmail` filter). */
  findByEmail(email: string, options: CampaignCallOptions = {}): Promise<CampaignRecord[]> {
    return this.collections.collect('profile', { ...options, filter: 'byEmail', params: { email } });
  }
}
