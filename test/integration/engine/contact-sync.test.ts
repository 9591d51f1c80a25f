import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed, storeKinds } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';

describe.each(storeKinds)('contact sync end to end (%s store)', (store) => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('loads contacts, adopts matching profiles, leaves foreign profiles untouched, then follows changes', async () => {
    bed = await SyncTestBed.start({
      store,
      dynamics: { contacts: 40, seed: 7 },
      campaign: { profiles: 5, seed: 3 },
    });
    const contactIds = bed.dynamics.admin.listIds('contact');
    // A profile that existed before the sync and already carries a contact id: adopted.
    const adoptedId = contactIds[0]!;
    const [adoptedPKey] = bed.campaign.admin.seedProfiles({
      records: [{ externalId: adoptedId, firstName: 'Old', email: 'old@example.org' }],
    });
    const foreignBefore = bed.campaign.admin
      .listRecords('profile')
      .filter((p) => !p.values.externalId)
      .map((p) => JSON.stringify(p));

    const { engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary.created).toBe(39);
    expect(summary.adopted).toBe(1);
    expect(summary['dead-lettered']).toBe(0);

    const profiles = bed.profilesByExternalId();
    expect(profiles.size).toBe(40);
    for (const id of contactIds) {
      const contact = bed.dynamics.admin.getContact(id)!;
      const profile = profiles.get(id)!;
      expect(profile.firstName ?? null).toBe(contact.firstname ?? null);
      expect(profile.lastName ?? null).toBe(contact.lastname ?? null);
      expect(profile.email ?? null).toBe(contact.emailaddress1 ?? null);
    }
    expect(profiles.get(adoptedId)!.PKey).toBe(adoptedPKey);
    const foreignAfter = bed.campaign.admin
      .listRecords('profile')
      .filter((p) => !p.values.externalId)
      .map((p) => JSON.stringify(p));
    expect(foreignAfter).toEqual(foreignBefore);

    // Live changes: an update, a delete and a create, read through the delta link.
    bed.dynamics.admin.updateContact(contactIds[1]!, { lastname: 'Changed' });
    bed.dynamics.admin.deleteContact(contactIds[2]!);
    const created = bed.dynamics.admin.createContact(
      buildContact({ firstname: 'Grace', lastname: 'Hopper' }),
    );
    const second = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(second).toMatchObject({ created: 1, updated: 1, deleted: 1 });
    const after = bed.profilesByExternalId();
    expect(after.get(contactIds[1]!)!.lastName).toBe('Changed');
    expect(after.has(contactIds[2]!)).toBe(false);
    expect(after.get(String(created.contactid))!.firstName).toBe('Grace');
    expect(after.size).toBe(40);
  });

  it('keeps the create intent the lease writes only for records it creates (or whose create was sent)', async () => {
    bed = await SyncTestBed.start({ store, dynamics: { contacts: 3, seed: 5 } });
    const bad = bed.dynamics.admin.createContact(
      buildContact({ firstname: 'Bartholomew-Maximilian-Alexander-Fitzgerald' }),
    );
    const { runtime, engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary).toMatchObject({ created: 3, 'dead-lettered': 1 });
    for (const id of bed.dynamics.admin.listIds('contact').filter((i) => i !== String(bad.contactid))) {
      expect((await runtime.store.keyMap.get('contacts', id))?.campaignPKey).toBe(
        bed.profilesByExternalId().get(id)!.PKey,
      );
    }
    // The record Campaign could not take failed before its create was sent: no intent left.
    expect(await runtime.store.keyMap.get('contacts', String(bad.contactid))).toBeNull();

    // A record created and deleted in Dynamics between two reads: its delete is leased with a
    // create intent (the key has no entry), finds nothing in Campaign and removes the intent.
    const gone = bed.dynamics.admin.createContact(buildContact({ lastname: 'Gone' }));
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(await runtime.store.keyMap.get('contacts', String(gone.contactid))).not.toBeNull();
    const late = bed.dynamics.admin.createContact(buildContact({ lastname: 'Late' }));
    bed.dynamics.admin.deleteContact(String(late.contactid));
    const third = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(third.created ?? 0).toBe(0);
    expect(await runtime.store.keyMap.get('contacts', String(late.contactid))).toBeNull();
    expect(bed.profilesByExternalId().has(String(late.contactid))).toBe(false);
  });

  it('dead-letters a record Campaign cannot take, with code and reason, and keeps the rest flowing', async () => {
    bed = await SyncTestBed.start({ store });
    const good = bed.dynamics.admin.createContact(buildContact({ lastname: 'Good' }));
    // Dynamics allows 50 characters of first name; the Campaign profile field holds 30.
    const bad = bed.dynamics.admin.createContact(
      buildContact({ firstname: 'Bartholomew-Maximilian-Alexander-Fitzgerald' }),
    );
    const { runtime, engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary['dead-lettered']).toBe(1);
    expect(bed.profilesByExternalId().has(String(good.contactid))).toBe(true);
    const letters = await runtime.store.deadLetters.list({ flow: 'contacts' }, {});
    expect(letters.items).toHaveLength(1);
    expect(letters.items[0]).toMatchObject({ recordKey: String(bad.contactid), code: 'MAPPING_INVALID' });
    expect(letters.items[0]!.message).toContain('firstname');
    expect(letters.items[0]!.message).not.toContain('Bartholomew');
  });

  it("counts characters as Campaign does, and keeps Campaign's reason (field, not value) in a rejection", async () => {
    bed = await SyncTestBed.start({ store });
    // 20 characters, 40 UTF-16 units: fits Dynamics' 50 units and Campaign's varchar(30).
    const emoji = bed.dynamics.admin.createContact(buildContact({ firstname: '😀'.repeat(20) }));
    // Campaign's e-mail data policy refuses it; the mapping cannot know.
    const refused = bed.dynamics.admin.createContact(buildContact({ emailaddress1: 'no-at-sign.example' }));
    const { runtime, engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary).toMatchObject({ created: 1, 'dead-lettered': 1 });
    expect(bed.profilesByExternalId().get(String(emoji.contactid))!.firstName).toBe('😀'.repeat(20));
    const letters = await runtime.store.deadLetters.list({ flow: 'contacts' }, {});
    expect(letters.items).toHaveLength(1);
    expect(letters.items[0]).toMatchObject({
      recordKey: String(refused.contactid),
      code: 'CAMPAIGN_REJECTED',
    });
    expect(letters.items[0]!.message).toContain("the 'email' property does not follow");
    expect(letters.items[0]!.message).not.toContain('no-at-sign');
  });
});
