import { z } from 'zod';
import { holdsRecordKey } from '../../core/record-key.js';
import type { Clock } from '../../core/clock.js';
import { SyncError } from '../../core/errors.js';
import type { OptOutDynamicsWriter } from '../../core/ports/opt-out-dynamics-writer.js';
import type { OptOutStore } from '../../core/ports/opt-out-store.js';
import type { RecordGuard } from '../../core/ports/record-guard.js';
import type { RecordSink } from '../../core/ports/record-sink.js';
import type { AuditEntry, WorkItem } from '../../core/ports/state-store.js';
import type { ApplyResult, Flow } from '../flow.js';
import { privacyHold } from '../parking.js';
import type { ApplyOutcome } from '../engine-stats.js';
import { optOutCampaignFlow, optOutDynamicsFlow } from './opt-out-settings.js';

const optOutDynamicsPayloadSchema = z.object({
  contactId: z.string(),
  column: z.string(),
  /** The Campaign attribute the column pairs with (the ledger's name for the pair). */
  attribute: z.string(),
  value: z.boolean(),
  /** Dynamics value the decision saw; a different current value means a newer Dynamics change. */
  basis: z.boolean().nullable(),
  sourceRef: z.string().nullable(),
});

/** Payload of an `optout:dynamics` item: write one resolved column of one contact. */
export type OptOutDynamicsPayload = z.infer<typeof optOutDynamicsPayloadSchema>;

const optOutCampaignPayloadSchema = z.object({
  contactId: z.string(),
  attribute: z.string(),
  value: z.boolean(),
  /** Campaign value the decision saw. */
  basis: z.boolean().nullable(),
  sourceRef: z.string().nullable(),
});

/** Payload of an `optout:campaign` item: write one resolved attribute of one profile. */
export type OptOutCampaignPayload = z.infer<typeof optOutCampaignPayloadSchema>;

export interface OptOutWorkApplierOptions {
  store: { optOut: OptOutStore };
  writer: OptOutDynamicsWriter;
  /** The profile sink of the contacts flow (records addressed by their external id). */
  profiles: RecordSink;
  clock: Clock;
  /** Privacy holds and tombstones of contacts (I9). */
  guard: RecordGuard;
  /** Flow id the guard knows contacts by. @default 'contacts' */
  contactsFlow?: string;
}

/**
 * Applies the durable opt-out writes (flows `optout:dynamics` and `optout:campaign`), so they get
 * the engine's retries and dead letters. Each write is checked against the target's current value
 * first: already there → nothing to do; changed since the decision (the `basis`) → a newer change
 * on that side will be resolved on its own path, so this write is dropped as stale; otherwise it is
 * written (Dynamics with `If-Match`, a 412 retries with a fresh read) and recorded in the ledger so
 * its echo is recognised.
 */
export class OptOutWorkApplier {
  constructor(private readonly options: OptOutWorkApplierOptions) {}

  /** The two flows of durable opt-out writes, as engine flows. */
  flows(): [Flow<OptOutDynamicsPayload>, Flow<OptOutCampaignPayload>] {
    return [
      {
        id: optOutDynamicsFlow,
        direction: 'campaign-to-dynamics',
        description: 'opt-out decisions → Dynamics contact columns',
        payload: optOutDynamicsPayloadSchema,
        applier: {
          apply: (item, payload) => this.guarded(payload, () => this.applyDynamics(item, payload)),
        },
      },
      {
        id: optOutCampaignFlow,
        direction: 'dynamics-to-campaign',
        description: 'opt-out decisions → Campaign profile attributes',
        payload: optOutCampaignPayloadSchema,
        applier: {
          apply: (item, payload) => this.guarded(payload, () => this.applyCampaign(item, payload)),
        },
      },
    ];
  }

  /** No write to a contact under a privacy request (held) or privacy-deleted (tombstoned). */
  private async guarded(
    payload: { contactId: string },
    apply: () => Promise<ApplyResult>,
  ): Promise<ApplyResult> {
    const verdict = await this.options.guard.check(
      this.options.contactsFlow ?? 'contacts',
      payload.contactId,
    );
    if (verdict === 'hold')
      return {
        kind: 'park',
        parent: privacyHold(payload.contactId),
        reason: 'held: a privacy request is in progress',
      };
    if (verdict === 'tombstone') return this.done('tombstoned');
    return apply();
  }

  private async applyDynamics(item: WorkItem, p: OptOutDynamicsPayload): Promise<ApplyResult> {
    const { writer, store, clock } = this.options;
    const state = (await writer.readContacts([p.contactId], [p.column])).get(p.contactId);
    if (!state) return this.done('absent');
    const current = state.values[p.column] ?? false;
    if (current === p.value) return this.done('unchanged');
    if (p.basis !== null && current !== p.basis) return this.done('stale');
    const [result] = await writer.writeContacts([
      { id: p.contactId, values: { [p.column]: p.value }, ifMatch: state.etag },
    ]);
    switch (result?.outcome) {
      case 'ok':
        await store.optOut.recordWrites([
          {
            recordKey: p.contactId,
            attribute: p.attribute,
            system: 'dynamics',
            value: p.value,
            at: clock.now(),
            resultVersion: result.version,
          },
        ]);
        return this.done('updated', this.audit(item, 'contact.optout.update', [p.column]));
      case 'not-found':
        return this.done('absent');
      case 'conflict':
        throw new SyncError(
          'OPTOUT_WRITE_CONFLICT',
          `contact ${p.contactId} changed while ${p.column} was written; reading it again`,
        );
      case 'failed':
        throw new SyncError(result.code, result.message);
      default:
        throw new SyncError('OPTOUT_WRITE_FAILED', `no answer for the write of contact ${p.contactId}`);
    }
  }

  private async applyCampaign(item: WorkItem, p: OptOutCampaignPayload): Promise<ApplyResult> {
    const { profiles, store, clock } = this.options;
    const profile = await profiles.findByKey(p.contactId, { lane: item.lane });
    if (!profile) return this.done('absent');
    const key = profile.fields[profiles.keyField];
    // Only a profile that carries this contact's id is ever written (I2).
    if (!holdsRecordKey(key, p.contactId)) return this.done('skipped-foreign');
    const current = profile.fields[p.attribute] === true;
    if (current === p.value) return this.done('unchanged');
    if (p.basis !== null && current !== p.basis) return this.done('stale');
    const outcome = await profiles.update(profile.pkey, { [p.attribute]: p.value }, { lane: item.lane });
    if (outcome === 'not-found') return this.done('absent');
    await store.optOut.recordWrites([
      {
        recordKey: p.contactId,
        attribute: p.attribute,
        system: 'campaign',
        value: p.value,
        at: clock.now(),
        resultVersion: null,
      },
    ]);
    return this.done('updated', this.audit(item, 'profile.optout.update', [p.attribute]));
  }

  private done(outcome: ApplyOutcome, audit?: Omit<AuditEntry, 'id'>): ApplyResult {
    return {
      kind: 'done',
      outcome,
      effects: audit ? { audit: [audit], resolveDeadLetters: true } : {},
      landed: false,
    };
  }

  private audit(item: WorkItem, action: string, fields: string[]): Omit<AuditEntry, 'id'> {
    return {
      at: this.options.clock.now(),
      actor: 'engine',
      action,
      flow: item.flow,
      recordKey: item.recordKey,
      fields,
      outcome: 'ok',
      detail: null,
    };
  }
}
