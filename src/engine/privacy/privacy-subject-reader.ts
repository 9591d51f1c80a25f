import type { StateStore } from '../../core/ports/state-store.js';
import type { PrivacyLinkedRecord } from '../../core/ports/privacy-store.js';
import type {
  PrivacyCampaignReader,
  PrivacyCampaignRecord,
  PrivacyDynamicsTarget,
  PrivacyJobIdentity,
  PrivacyLinkedTable,
} from '../../core/ports/privacy-systems.js';

/** Where the value of a configured Privacy Service namespace comes from. */
export interface PrivacyNamespaceSource {
  namespace: string;
  type: PrivacyJobIdentity['type'];
  source: 'email' | 'externalId';
}

export interface PrivacySubjectReaderOptions {
  store: StateStore;
  campaign: PrivacyCampaignReader;
  dynamics: PrivacyDynamicsTarget;
  /** Synced custom tables that hang off the contact. @default [] */
  linkedTables?: readonly PrivacyLinkedTable[];
  /** Dynamics contact column holding the e-mail address. @default 'emailaddress1' */
  emailColumn?: string;
  /** Campaign profile field holding the e-mail address. @default 'email' */
  profileEmailField?: string;
  /** Rows read per linked table and parent, at most. @default 5000 */
  maxRowsPerTable?: number;
}

/** Everything both systems hold for one person (an access request's answer). */
export interface PrivacyAccessDocument {
  contactId: string;
  campaign: {
    profile: PrivacyCampaignRecord | null;
    linked: { resource: string; recordKey: string; record: PrivacyCampaignRecord | null }[];
  };
  dynamics: { contact: Record<string, unknown> | null };
}

/** Links deeper than this are refused by the configuration; the walk stops there too. */
const maxLinkDepth = 3;

/**
 * Reads what the two systems hold for one data subject: the records linked to the profile (ids
 * only, for the request), the identities a Privacy Service job needs (held in memory only), and
 * the full access document. Nothing read here is logged or stored except ids.
 */
export class PrivacySubjectReader {
  private readonly linkedTables: readonly PrivacyLinkedTable[];
  private readonly cascadeByLink = new Map<string, Promise<boolean>>();

  constructor(private readonly options: PrivacySubjectReaderOptions) {
    this.linkedTables = options.linkedTables ?? [];
  }

  /**
   * The Campaign records that hang off the contact's profile, found through the synced custom
   * tables: rows whose lookup holds the contact (or a row found before), their Campaign PKey from
   * the key map (or by key), and whether every link up to the profile deletes with cascade.
   */
  async findLinkedRecords(contactKey: string): Promise<PrivacyLinkedRecord[]> {
    const found: PrivacyLinkedRecord[] = [];
    let frontier: { flow: string; recordKey: string; cascade: boolean }[] = [
      { flow: 'contacts', recordKey: contactKey, cascade: true },
    ];
    for (let depth = 0; depth < maxLinkDepth && frontier.length > 0; depth++) {
      const next: typeof frontier = [];
      for (const parent of frontier) {
        for (const table of this.linkedTables.filter((t) => t.parentFlow === parent.flow)) {
          const rows = await this.options.dynamics.findLinkedRows(table, parent.recordKey);
          const cascade = parent.cascade && (await this.linkCascades(table));
          for (const row of rows.slice(0, this.options.maxRowsPerTable ?? 5000)) {
            const recordKey = row.toLowerCase();
            if (found.some((r) => r.flow === table.flow && r.recordKey === recordKey)) continue;
            const entry = await this.options.store.keyMap.get(table.flow, recordKey);
            const pkey =
              entry?.campaignPKey ??
              (await this.options.campaign.findByKey(table.resource, recordKey))?.PKey ??
              null;
            found.push({ flow: table.flow, recordKey, resource: table.resource, pkey, cascade });
            next.push({ flow: table.flow, recordKey, cascade });
          }
        }
      }
      frontier = next;
    }
    return found;
  }

  /** The identities of the configured namespaces; e-mail addresses from both systems. */
  async identitiesOf(
    contactKey: string,
    namespaces: readonly PrivacyNamespaceSource[],
  ): Promise<PrivacyJobIdentity[]> {
    const identities: PrivacyJobIdentity[] = [];
    const needsEmail = namespaces.some((n) => n.source === 'email');
    const emails = needsEmail ? await this.emailsOf(contactKey) : [];
    for (const namespace of namespaces) {
      const values = namespace.source === 'externalId' ? [contactKey] : emails;
      for (const value of values)
        identities.push({ namespace: namespace.namespace, type: namespace.type, value });
    }
    // The service takes at most 9 identities per subject.
    return identities.slice(0, 9);
  }

  /** The Dynamics side, for the steps that act on it. */
  get dynamics(): PrivacyDynamicsTarget {
    return this.options.dynamics;
  }

  /** The Campaign profile whose external id is the contact id, or null. */
  profileOf(contactKey: string): Promise<PrivacyCampaignRecord | null> {
    return this.options.campaign.findProfileByExternalId(contactKey);
  }

  /** A Campaign record by PKey, or null when it is gone. */
  campaignRecord(resource: string, pkey: string): Promise<PrivacyCampaignRecord | null> {
    return this.options.campaign.getRecord(resource, pkey);
  }

  /** Whatever both systems hold for the person, gathered into one document. */
  async gatherAccess(contactKey: string): Promise<PrivacyAccessDocument> {
    const profile = await this.options.campaign.findProfileByExternalId(contactKey);
    const linked: PrivacyAccessDocument['campaign']['linked'] = [];
    for (const record of await this.findLinkedRecords(contactKey)) {
      linked.push({
        resource: record.resource,
        recordKey: record.recordKey,
        record: record.pkey ? await this.options.campaign.getRecord(record.resource, record.pkey) : null,
      });
    }
    const contact = await this.options.dynamics.getContact(contactKey);
    return { contactId: contactKey, campaign: { profile, linked }, dynamics: { contact } };
  }

  private async emailsOf(contactKey: string): Promise<string[]> {
    const profile = await this.options.campaign.findProfileByExternalId(contactKey);
    const contact = await this.options.dynamics.getContact(contactKey);
    const candidates = [
      profile?.[this.options.profileEmailField ?? 'email'],
      contact?.[this.options.emailColumn ?? 'emailaddress1'],
    ];
    const emails: string[] = [];
    for (const value of candidates) {
      if (typeof value !== 'string' || value.trim() === '') continue;
      const email = value.trim();
      if (!emails.some((e) => e.toLowerCase() === email.toLowerCase())) emails.push(email);
    }
    return emails;
  }

  private linkCascades(table: PrivacyLinkedTable): Promise<boolean> {
    const key = `${table.resource}\u0000${table.campaignLink}`;
    let cached = this.cascadeByLink.get(key);
    if (!cached) {
      cached = this.options.campaign.describeResource(table.resource).then(
        (metadata) => metadata.links[table.campaignLink]?.onDelete === 'cascade',
        (error: unknown) => {
          this.cascadeByLink.delete(key);
          throw error;
        },
      );
      this.cascadeByLink.set(key, cached);
    }
    return cached;
  }
}
