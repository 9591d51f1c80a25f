/**
 * The contract between the Campaign emulator's profile store and the opt-out export workflow: the
 * workflow asks "which profiles had an opt-out attribute change in this window?" and writes them to
 * the daily file. The Campaign REST emulator implements it over its profile table; tests use
 * {@link InMemoryOptOutExportSource}.
 */

/** The Campaign profile attributes the export carries, in file column order. */
export const optOutExportAttributes = [
  'blackList',
  'blackListEmail',
  'blackListFax',
  'blackListMobile',
  'blackListPhone',
  'blackListPostalMail',
  'blackListPushnotification',
  'ccpaOptOut',
] as const;

export type OptOutExportAttribute = (typeof optOutExportAttributes)[number];

/** One attribute's current value and when it last changed (ms since epoch, the attribute-level time). */
export interface OptOutAttributeState {
  value: boolean;
  lastModified: number;
}

/** One profile in the export: its keys and the state of every opt-out attribute. */
export interface OptOutExportRow {
  /** The Campaign primary key, opaque, beginning with `@`. */
  PKey: string;
  /** The profile's `externalId` (the Dynamics contactid when the sync owns it), or null. */
  externalId: string | null;
  /**
   * Every attribute of {@link optOutExportAttributes} should be present; a missing one is written as
   * an empty cell. `lastModified` is 0 when the attribute never changed since the profile was made
   * (written as its creation time by the source, or as an empty cell when 0).
   */
  attributes: Partial<Record<OptOutExportAttribute, OptOutAttributeState>>;
}

/** Where the export workflow reads opt-out changes from. */
export interface OptOutExportSource {
  /**
   * Profiles with at least one opt-out attribute whose `lastModified` is in `[sinceMs, untilMs)`,
   * each with the current state of ALL its opt-out attributes (the file is a snapshot of the
   * changed profiles, not a list of attribute events). Order: ascending by the profile's latest
   * opt-out change, then PKey, so files are deterministic.
   */
  listOptOutChangesSince(sinceMs: number, untilMs: number): Iterable<OptOutExportRow>;
}

/** A plain in-memory source for tests and for the standalone SFTP emulator. */
export class InMemoryOptOutExportSource implements OptOutExportSource {
  private readonly rows = new Map<string, OptOutExportRow>();

  /** Insert or replace a profile's whole opt-out state. */
  upsert(row: OptOutExportRow): void {
    this.rows.set(row.PKey, structuredClone(row));
  }

  /**
   * Change one attribute of a profile (creating the profile when new), stamping `lastModified` with
   * `atMs` only when the value actually changes, as Campaign does for `blackList*LastModified`.
   */
  setAttribute(
    pkey: string,
    externalId: string | null,
    attribute: OptOutExportAttribute,
    value: boolean,
    atMs: number,
  ): void {
    const row = this.rows.get(pkey) ?? { PKey: pkey, externalId, attributes: {} };
    row.externalId = externalId;
    const current = row.attributes[attribute];
    if (current === undefined || current.value !== value)
      row.attributes[attribute] = { value, lastModified: atMs };
    this.rows.set(pkey, row);
  }

  remove(pkey: string): void {
    this.rows.delete(pkey);
  }

  listOptOutChangesSince(sinceMs: number, untilMs: number): OptOutExportRow[] {
    const changed: Array<{ row: OptOutExportRow; latest: number }> = [];
    for (const row of this.rows.values()) {
      let latest = -1;
      for (const state of Object.values(row.attributes)) {
        if (state.lastModified >= sinceMs && state.lastModified < untilMs)
          latest = Math.max(latest, state.lastModified);
      }
      if (latest >= 0) changed.push({ row: structuredClone(row), latest });
    }
    changed.sort(
      (a, b) => a.latest - b.latest || (a.row.PKey < b.row.PKey ? -1 : a.row.PKey > b.row.PKey ? 1 : 0),
    );
    return changed.map((entry) => entry.row);
  }
}
