/**
 * What a user of `dynamics-web-api` and `@azure/msal-node` does against Dataverse, run against the
 * emulator. Started by `dataverse-clients.test.ts` in its own Node process with
 * `NODE_EXTRA_CA_CERTS` = the emulator's CA (through tsx) — the documented way to make both clients trust it
 * (dynamics-web-api builds its own `https.Agent`, msal-node uses the global `fetch`). Reads
 * `DATAVERSE_URL`, `AUTHORITY_HOST`, `TENANT_ID`, `CLIENT_ID`, `CLIENT_SECRET`; prints one JSON
 * object with what each step saw; the test asserts on it.
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import { DynamicsWebApi } from 'dynamics-web-api';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const url = env('DATAVERSE_URL');
const authorityHost = env('AUTHORITY_HOST');

const msal = new ConfidentialClientApplication({
  auth: {
    clientId: env('CLIENT_ID'),
    clientSecret: env('CLIENT_SECRET'),
    authority: `${authorityHost}/${env('TENANT_ID')}`,
    // The emulator is not a Microsoft cloud: no instance discovery against login.microsoftonline.com.
    knownAuthorities: [new URL(authorityHost).host],
  },
});
let tokenRequests = 0;
const acquireToken = async () => {
  tokenRequests++;
  const result = await msal.acquireTokenByClientCredential({ scopes: [`${url}/.default`] });
  return result?.accessToken ?? null;
};

const api = new DynamicsWebApi({ serverUrl: url, onTokenRefresh: acquireToken, dataApi: { version: '9.2' } });
type Row = Record<string, unknown>;
const out: Record<string, unknown> = {};
const statusOf = (error: unknown): unknown =>
  typeof error === 'object' && error !== null && 'status' in error ? error.status : undefined;
const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
  try {
    out[name] = await fn();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const status = statusOf(error);
    out[name] = { error: `${typeof status === 'number' ? status : ''} ${message}`.trim() };
  }
};

await step('token', async () => {
  const token = await acquireToken();
  return { length: token?.length ?? 0, parts: token?.split('.').length ?? 0 };
});
await step('whoAmI', async () => {
  const who = await api.callFunction<Row>('WhoAmI');
  return { hasUserId: typeof who?.UserId === 'string' };
});
let id = '';
await step('create', async () => {
  id = await api.create<Record<string, unknown>, string>({
    collection: 'contacts',
    data: { firstname: 'Ann', lastname: 'Compat', emailaddress1: 'ann.compat@example.com' },
  });
  return { id };
});
await step('createReturning', async () => {
  const row = await api.create<Record<string, unknown>, Record<string, unknown> | undefined>({
    collection: 'contacts',
    data: { firstname: 'Bo', lastname: 'Compat', emailaddress1: 'bo.compat@example.com' },
    returnRepresentation: true,
    select: ['firstname', 'lastname'],
  });
  return { firstname: row?.firstname, hasId: typeof row?.contactid === 'string' };
});
await step('retrieve', async () => {
  const row = await api.retrieve<Row>({
    collection: 'contacts',
    key: id,
    select: ['firstname', 'emailaddress1'],
  });
  return { firstname: row.firstname, email: row.emailaddress1, etag: row['@odata.etag'] };
});
await step('formattedValues', async () => {
  const row = await api.retrieve<Row>({
    collection: 'contacts',
    key: id,
    select: ['donotemail'],
    includeAnnotations: 'OData.Community.Display.V1.FormattedValue',
  });
  return { donotemail: row.donotemail, formatted: row.donotemail_Formatted };
});
await step('update', async () => {
  const done = await api.update<Row, boolean>({
    collection: 'contacts',
    key: id,
    data: { lastname: 'Updated' },
  });
  const row = await api.retrieve<Row>({ collection: 'contacts', key: id, select: ['lastname'] });
  return { done, lastname: row.lastname };
});
await step('updateSingleProperty', async () => {
  await api.updateSingleProperty({ collection: 'contacts', key: id, fieldValuePair: { jobtitle: 'Tester' } });
  const row = await api.retrieve<Row>({ collection: 'contacts', key: id, select: ['jobtitle'] });
  return { jobtitle: row.jobtitle };
});
await step('upsert', async () => {
  const newId = '00000000-0000-4000-8000-00000000c0de';
  await api.upsert<Row, unknown>({
    collection: 'contacts',
    key: newId,
    data: { firstname: 'Cy', lastname: 'Upsert' },
  });
  await api.upsert<Row, unknown>({ collection: 'contacts', key: newId, data: { lastname: 'Upserted' } });
  const row = await api.retrieve<Row>({
    collection: 'contacts',
    key: newId,
    select: ['firstname', 'lastname'],
  });
  return { firstname: row.firstname, lastname: row.lastname };
});
await step('filtered', async () => {
  const page = await api.retrieveMultiple<Row>({
    collection: 'contacts',
    select: ['firstname', 'lastname'],
    filter: "lastname eq 'Compat' or lastname eq 'Updated'",
    orderBy: ['firstname asc'],
  });
  return { names: page.value.map((r) => r.firstname) };
});
await step('paged', async () => {
  const first = await api.retrieveMultiple<Row>({
    collection: 'contacts',
    select: ['contactid'],
    maxPageSize: 7,
    count: true,
  });
  const all = await api.retrieveAll<Row>({ collection: 'contacts', select: ['contactid'], maxPageSize: 7 });
  return {
    firstPage: first.value.length,
    count: first['@odata.count'],
    hasNextLink: typeof first.oDataNextLink === 'string',
    all: all.value.length,
  };
});
await step('count', async () => {
  const total = await api.count({ collection: 'contacts' });
  const filtered = await api.countAll({
    collection: 'contacts',
    filter: "lastname eq 'Compat'",
    select: ['contactid'],
  });
  return { total, filtered };
});
await step('changeTracking', async () => {
  const initial = await api.retrieveAll<Row>({
    collection: 'contacts',
    select: ['firstname'],
    trackChanges: true,
  });
  const deltaLink = initial.oDataDeltaLink;
  await api.update<Row, boolean>({ collection: 'contacts', key: id, data: { firstname: 'Annie' } });
  const delta = await api.retrieveMultiple<Row>({ collection: 'contacts', select: ['firstname'] }, deltaLink);
  return {
    initial: initial.value.length,
    hasDeltaLink: typeof deltaLink === 'string',
    changed: delta.value.map((r) => r.firstname),
  };
});
await step('metadata', async () => {
  const entity = await api.retrieveEntity<Row>({
    key: "LogicalName='contact'",
    select: ['LogicalName', 'EntitySetName', 'PrimaryIdAttribute'],
  });
  const attributes = await api.retrieveAttributes<Row>({
    entityKey: "LogicalName='contact'",
    select: ['LogicalName'],
  });
  return {
    entitySetName: entity.EntitySetName,
    primaryId: entity.PrimaryIdAttribute,
    hasEmail: attributes.value.some((a) => a.LogicalName === 'emailaddress1'),
  };
});
await step('batch', async () => {
  api.startBatch();
  // Inside a batch the calls only queue their request; executeBatch sends them.
  void api.retrieveMultiple<Row>({ collection: 'contacts', select: ['contactid'], top: 2 });
  void api.create({ collection: 'contacts', data: { firstname: 'Di', lastname: 'Batch' } });
  void api.update<Row, boolean>({ collection: 'contacts', key: id, data: { jobtitle: 'Batched' } });
  const responses = (await api.executeBatch()) as unknown[];
  const first = responses[0] as { value?: unknown[] } | undefined;
  const row = await api.retrieve<Row>({ collection: 'contacts', key: id, select: ['jobtitle'] });
  return { responses: responses.length, firstRows: first?.value?.length, jobtitle: row.jobtitle };
});
await step('delete', async () => {
  const deleted = (await api.deleteRecord({ collection: 'contacts', key: id })) as unknown;
  let gone = false;
  try {
    await api.retrieve<Row>({ collection: 'contacts', key: id });
  } catch (error) {
    gone = statusOf(error) === 404;
  }
  return { deleted, gone };
});
out.tokenRequests = tokenRequests;
process.stdout.write(`${JSON.stringify(out)}\n`);
