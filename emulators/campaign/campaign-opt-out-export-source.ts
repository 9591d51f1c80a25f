import type { CampaignRecordStore } from './campaign-record-store.js';
import {
  optOutExportAttributes,
  type OptOutExportAttribute,
  type OptOutAttributeState,
  type OptOutExportRow,
  type OptOutExportSource,
} from './sftp/opt-out-export-source.js';

/**
 * The profile table as the opt-out export workflow sees it: profiles whose `blackList*` or
 * `ccpaOptOut` changed in a window, with the attribute-level change times the store keeps (the
 * same ones the API reports as `blackList*LastModified`).
 */
export class CampaignOptOutExportSource implements OptOutExportSource {
  constructor(private readonly store: CampaignRecordStore) {}

  listOptOutChangesSince(sinceMs: number, untilMs: number): OptOutExportRow[] {
    const changed: Array<{ row: OptOutExportRow; latest: number }> = [];
    for (const profile of this.store.all('profile')) {
      let latest = -1;
      for (const attribute of optOutExportAttributes) {
        const at = profile.attributeModified[attribute];
        if (at !== undefined && at >= sinceMs && at < untilMs) latest = Math.max(latest, at);
      }
      if (latest < 0) continue;
      const attributes: Partial<Record<OptOutExportAttribute, OptOutAttributeState>> = {};
      for (const attribute of optOutExportAttributes) {
        attributes[attribute] = {
          value: profile.values[attribute] === true,
          lastModified: profile.attributeModified[attribute] ?? 0,
        };
      }
      const externalId = String(profile.values.externalId ?? '');
      changed.push({
        row: { PKey: profile.pkey, externalId: externalId === '' ? null : externalId, attributes },
        latest,
      });
    }
    changed.sort(
      (a, b) => a.latest - b.latest || (a.row.PKey < b.row.PKey ? -1 : a.row.PKey > b.row.PKey ? 1 : 0),
    );
    return changed.map((entry) => entry.row);
  }
}
