/**
 * The shape of the YAML configuration file (zod 4). The keys shown in issue 2 are a contract: they
 * may be extended, never renamed. Every object is strict, so a misspelt key is an error rather than
 * a silently ignored setting. Secret fields accept only `env:NAME` / `file:/path` references; the
 * loader resolves them into `Secret`s (see `resolved-config.ts`).
 *
 * The human-readable reference of every key lives in docs/configuration.md; keep both in step.
 */
import { z } from 'zod';
import { isKnownTimeZone, parseTimeOfDay } from '../core/import-window.js';
import { optOutModes } from '../core/opt-out-resolver.js';
import { privacyIdentityTypes } from '../core/ports/privacy-systems.js';
import { secretOrLiteralSchema, secretRefSchema, valueOrRefSchema } from './config-ref.js';

// ---------------------------------------------------------------------------------------------
// Closed sets
// ---------------------------------------------------------------------------------------------

// Opt-out modes and their allowed Campaign targets are domain facts, kept in core.
export {
  optOutModes,
  campaignOptOutAttributes,
  type OptOutMode,
  type CampaignOptOutAttribute,
} from '../core/opt-out-resolver.js';

/** Record filter comparison operators. */
export const filterOperators = ['eq', 'ne', 'in', 'notIn', 'null', 'notNull', 'gt', 'lt'] as const;
export type FilterOperator = (typeof filterOperators)[number];

/** How a Dynamics picklist (option set) value is written to Campaign. */
export const picklistModes = ['label', 'value'] as const;
export type PicklistMode = (typeof picklistModes)[number];

/** Which Campaign endpoint holds profiles (`Ext` carries custom fields and linked custom resources). */
export const profileResources = ['profileAndServicesExt', 'profileAndServices'] as const;
export type ProfileResource = (typeof profileResources)[number];

/** Backoff jitter strategies. */
export const jitterModes = ['full', 'equal', 'none'] as const;
export type JitterMode = (typeof jitterModes)[number];

/** What happens to an opt-out export file once every row is applied. */
export const afterProcessingActions = ['archive', 'delete'] as const;
export type AfterProcessingAction = (typeof afterProcessingActions)[number];

/** Where the identity value of a privacy namespace comes from. */
export const privacyIdentitySources = ['email', 'externalId'] as const;
export type PrivacyIdentitySource = (typeof privacyIdentitySources)[number];

/** Regulations accepted by the Privacy Service. */
export const privacyRegulations = [
  'gdpr',
  'ccpa',
  'cpra_usa',
  'lgpd_bra',
  'pdpa_tha',
  'nzpa_nzl',
  'apa_aus',
  'hipaa_usa',
  'vcdpa_usa',
  'ucpa_ut_usa',
] as const;
export type PrivacyRegulation = (typeof privacyRegulations)[number];

/** Events an alert webhook can subscribe to. */
export const alertEvents = [
  'flow-failed',
  'flow-paused',
  'breaker-tripped',
  'dead-letters-growing',
  'optout-file-stale',
  'optout-file-problem',
  'sftp-usage-high',
  'rebaseline',
  'privacy-request-failed',
  'dead-letters',
  'changes-retrying',
  'campaign-throttled',
  'campaign-failing',
  'campaign-rate-cut',
  'backlog-growing',
  'orphans',
  'privacy-request-stuck',
  'no-sync-process',
] as const;
export type AlertEvent = (typeof alertEvents)[number];

/** Log levels (pino). */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** An http(s) URL; a trailing slash is dropped so paths can be appended. */
const httpUrl = z
  .string()
  .refine(isHttpUrl, { message: 'must be an http(s) URL' })
  .transform((text) => text.replace(/\/+$/, ''));

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const port = z.number().int().min(0).max(65_535);
const nonEmpty = z.string().min(1);
const filePath = z.string().min(1);

/** A Dataverse logical column name (`firstname`, `_parentcustomerid_value`, `new_code`). */
const dynamicsColumn = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a Dataverse logical column name' });

/** A Campaign field name (`email`, `cusCode`), or a dotted path into an item (`location.city`). */
const campaignField = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, { message: 'must be a Campaign field name' });

/** A Campaign custom resource name: always the `cus` prefix. */
const customResourceName = z
  .string()
  .regex(/^cus[A-Za-z0-9_]+$/, { message: 'must be a Campaign custom resource name starting with "cus"' });

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const replacementSchema = z.strictObject({
  /** Dynamics value to replace (for picklists in label mode: the label or the value). */
  from: scalar,
  /** Value written to Campaign instead. */
  to: scalar,
});

const fieldMappingObject = z.strictObject(
  {
    /** Campaign field that receives the value. */
    to: campaignField,
    /**
     * Write the value on incremental updates too. `false`: written only when the Campaign record is
     * created and on replay.
     * @default true
     */
    applyOnUpdate: z.boolean().default(true),
    /** Value substitutions applied before writing. @default [] */
    replacements: z.array(replacementSchema).default([]),
    /** Per-field override of the flow's picklist mode. */
    picklist: z.enum(picklistModes).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected a Campaign field name or an object { to, applyOnUpdate, replacements, picklist }'
        : undefined,
  },
);

/** One field mapping; the short form `firstname: firstName` becomes `{ to: firstName }`. */
export const fieldMappingSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { to: value } : value),
  fieldMappingObject,
);
export type FieldMapping = z.output<typeof fieldMappingSchema>;

/** Dynamics column → Campaign field. */
const mappingSchema = z.record(dynamicsColumn, fieldMappingSchema);
export type FieldMappings = z.output<typeof mappingSchema>;

const filterConditionSchema = z
  .strictObject({
    /** Dynamics column compared. */
    field: dynamicsColumn,
    op: z.enum(filterOperators),
    /** Scalar for eq/ne/gt/lt, list for in/notIn, absent for null/notNull. */
    value: z.union([scalar, z.array(scalar)]).optional(),
  })
  .superRefine((condition, ctx) => {
    const { op, value } = condition;
    const listOp = op === 'in' || op === 'notIn';
    const unaryOp = op === 'null' || op === 'notNull';
    const problem = unaryOp
      ? value !== undefined && `op ${op} takes no value`
      : listOp
        ? !Array.isArray(value) && `op ${op} needs a list value`
        : (value === undefined || Array.isArray(value)) && `op ${op} needs a single value`;
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
  });
export type FilterCondition = z.output<typeof filterConditionSchema>;

/** A record filter: all conditions (AND) or any condition (OR). */
const filterSchema = z
  .strictObject({
    all: z.array(filterConditionSchema).min(1).optional(),
    any: z.array(filterConditionSchema).min(1).optional(),
  })
  .superRefine((filter, ctx) => {
    if ((filter.all === undefined) === (filter.any === undefined))
      ctx.addIssue({ code: 'custom', message: 'a filter needs exactly one of all or any' });
  });
export type RecordFilter = z.output<typeof filterSchema>;

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

const dynamicsWebhookSchema = z.strictObject({
  /** Accept Dataverse webhook notifications (they trigger an immediate delta read). @default true */
  enabled: z.boolean().default(true),
  /** Shared key Dataverse sends with each notification (secret reference). */
  key: secretRefSchema,
  /** Header that carries the key. @default 'x-dcsync-key' */
  header: nonEmpty.default('x-dcsync-key'),
});

export const dynamicsSchema = z.strictObject({
  /** Environment URL; the Web API is at `<url>/api/data/v9.2`. */
  url: httpUrl,
  /** Microsoft Entra authority host. @default 'https://login.microsoftonline.com' */
  authorityHost: httpUrl.default('https://login.microsoftonline.com'),
  /** Entra tenant (directory) id or domain. */
  tenantId: nonEmpty,
  /** Application (client) id: a literal, `env:NAME` or `file:/path`. */
  clientId: valueOrRefSchema,
  /** Client secret: `env:NAME` or `file:/path` only. */
  clientSecret: secretRefSchema,
  /** Extra trusted CA certificate (PEM) for emulators and TLS-inspecting proxies. */
  caFile: filePath.optional(),
  /** Concurrent Web API requests (Dataverse allows 52 per user). @default 4 */
  maxConcurrency: positiveInt.max(52).default(4),
  /** Rows per change-tracking page (`odata.maxpagesize`, at most 5000). @default 5000 */
  pageSize: positiveInt.max(5000).default(5000),
  /** Per-request timeout in ms: a hung connection is abandoned and retried. @default 30000 */
  timeoutMs: positiveInt.max(600_000).default(30_000),
  /** Optional low-latency trigger from Dataverse webhooks. */
  webhook: dynamicsWebhookSchema.optional(),
  /**
   * Service-protection limits the client paces itself to (per application user). The defaults are
   * Dataverse's; set lower ones to leave room for other integrations that use the same user.
   */
  serviceProtection: z
    .strictObject({
      /** Requests per window. @default 6000 */
      requests: positiveInt.default(6000),
      /** Combined execution time per window, in ms. @default 1200000 (20 minutes) */
      executionTimeMs: positiveInt.default(1_200_000),
      /**
       * Share of `executionTimeMs` kept free for what the learnt per-operation cost cannot know
       * (the cost of one `$batch` varies); raise it if the tenant still answers 429 for execution
       * time. @default 0.01
       */
      executionTimeMarginShare: z.number().min(0).max(0.5).default(0.01),
      /** The sliding window, in ms. @default 300000 (5 minutes) */
      windowMs: positiveInt.min(1000).default(300_000),
    })
    .prefault({}),
});

const budgetSchema = z
  .strictObject({
    /** Campaign API calls per second, never exceeded. */
    callsPerSecond: z.number().positive(),
    /** Campaign API calls per rolling day, never exceeded. */
    callsPerDay: positiveInt,
    /** Engine-call allowance per day (insert 1, delete 1, update 2) when the licence counts them. */
    engineCallsPerDay: positiveInt.optional(),
    /** Slow down below the ceiling when latency, 5xx or 429 rise. @default true */
    adaptive: z.boolean().default(true),
    /**
     * Shared budget (docs/store.md, "Shared call budget"): how often a worker renews its slice of the
     * budget (and learns another worker's rate cut). @default 1000
     */
    sliceRenewMs: z.number().int().min(100).max(60_000).default(1000),
    /**
     * How long a slice lasts unless renewed; a dead worker's share of the rate is re-granted this
     * long (plus a second) after its last renewal. Longer than `sliceRenewMs`. @default 3000
     */
    sliceLeaseMs: z.number().int().min(200).max(300_000).default(3000),
  })
  .refine((b) => b.sliceLeaseMs > b.sliceRenewMs, {
    message: 'sliceLeaseMs must be longer than sliceRenewMs',
    path: ['sliceLeaseMs'],
  });

const sftpSchema = z
  .strictObject({
    /** SFTP host, usually `<instance>.campaign.adobe.com`. */
    host: nonEmpty,
    /** @default 22 */
    port: port.min(1).default(22),
    username: nonEmpty,
    /** Private key (OpenSSH/PEM), secret reference. Exactly one of privateKey or password. */
    privateKey: secretRefSchema.optional(),
    /** Passphrase of the private key, secret reference. */
    passphrase: secretRefSchema.optional(),
    /** Password, secret reference. Exactly one of privateKey or password. */
    password: secretRefSchema.optional(),
    /** Pinned host key fingerprint, `SHA256:<base64>` as printed by `ssh-keygen -lf`. */
    hostKeySha256: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, {
      message: 'must be a host key fingerprint like SHA256:<43 base64 characters>',
    }),
    /** Folder the Campaign export workflow writes opt-out files to. @default 'd365_loads/exports' */
    exportDir: nonEmpty.default('d365_loads/exports'),
    /** Folder processed files are moved to (when `afterProcessing: archive`). Default: `<exportDir>/archive`. */
    archiveDir: nonEmpty.optional(),
    /** Licensed SFTP storage in bytes; usage alerts at 80 % and 90 %. */
    quotaBytes: positiveInt.optional(),
  })
  .superRefine((sftp, ctx) => {
    if ((sftp.privateKey === undefined) === (sftp.password === undefined))
      ctx.addIssue({ code: 'custom', message: 'set exactly one of privateKey or password' });
    if (sftp.passphrase !== undefined && sftp.privateKey === undefined)
      ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'passphrase needs privateKey' });
  });

function organizationOf(url: string): string | undefined {
  return new URL(url).pathname.split('/').filter(Boolean).pop();
}

export const campaignSchema = z
  .strictObject({
    /** `https://mc.adobe.io/<organization>`; the last path segment is the organization. */
    url: httpUrl.refine((url) => !isHttpUrl(url) || organizationOf(url) !== undefined, {
      message: 'must end with the organization, e.g. https://mc.adobe.io/contoso',
    }),
    /** Adobe IMS host. @default 'https://ims-na1.adobelogin.com' */
    imsUrl: httpUrl.default('https://ims-na1.adobelogin.com'),
    /** Developer Console client id (also sent as X-Api-Key): literal, `env:NAME` or `file:/path`. */
    clientId: valueOrRefSchema,
    /** Client secret: `env:NAME` or `file:/path` only. */
    clientSecret: secretRefSchema,
    /** Extra trusted CA certificate (PEM). */
    caFile: filePath.optional(),
    /** OAuth scopes, comma-separated, as shown in the Developer Console. */
    scope: nonEmpty.optional(),
    /** Call budget: the sync never exceeds it (invariant I10). */
    budget: budgetSchema,
    /** Per-request timeout in ms: a hung connection is abandoned and retried. @default 30000 */
    timeoutMs: positiveInt.max(600_000).default(30_000),
    /** Endpoint for profiles. @default 'profileAndServicesExt' */
    profileResource: z.enum(profileResources).default('profileAndServicesExt'),
    /** Custom filter that finds a profile by externalId (`/profile/<filter>?externalId_parameter=`). @default 'byExternalId' */
    externalIdFilter: z
      .string()
      .regex(/^by[A-Z][A-Za-z0-9_]*$/, { message: 'must be a filter name like byExternalId' })
      .default('byExternalId'),
    /** Campaign SFTP, needed for Campaign→Dynamics opt-outs. */
    sftp: sftpSchema.optional(),
  })
  .transform((campaign) => ({
    ...campaign,
    /** The Campaign organization (tenant), taken from the last segment of `url`. */
    organization: organizationOf(campaign.url) ?? '',
  }));

export const storeSchema = z
  .strictObject({
    /** `sqlite:<path>` (embedded) or `postgres://user@host:port/db`. @default 'sqlite:./data/state.db' */
    url: z
      .string()
      .regex(/^(sqlite:|postgres(ql)?:\/\/)/, { message: 'must start with sqlite: or postgres://' })
      .refine((url) => !/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(url), {
        message: 'a password in the URL is a literal secret; set store.password: env:NAME instead',
        params: { findingCode: 'CONFIG_LITERAL_SECRET' },
      })
      .default('sqlite:./data/state.db'),
    /** PostgreSQL password, secret reference. */
    password: secretRefSchema.optional(),
    /** PostgreSQL schema holding the tables. @default 'public' */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, { message: 'must be a lower-case SQL identifier' })
      .default('public'),
    /**
     * SQLite only: how long a write waits for a lock another process holds (a backup, an open
     * `sqlite3` shell) before it fails and is retried. @default 5000
     */
    busyTimeoutMs: positiveInt.default(5000),
  })
  .prefault({});

const retrySchema = z
  .strictObject({
    /** First retry delay. @default 1000 */
    initialDelayMs: positiveInt.default(1000),
    /** Ceiling of any computed delay (a server's Retry-After may exceed it). @default 60000 */
    maxDelayMs: positiveInt.default(60_000),
    /** Growth factor per attempt (≥ 1). @default 2 */
    multiplier: z.number().min(1).default(2),
    /** Attempts before a work item becomes a dead letter. @default 10 */
    maxAttempts: positiveInt.default(10),
    /** @default 'full' */
    jitter: z.enum(jitterModes).default('full'),
    /**
     * Throttling (a 429, or the call budget refusing to wait) does not use up attempts; an item
     * still throttled this long after its first failure becomes a dead letter. @default 86400000
     */
    maxThrottledMs: positiveInt.default(86_400_000),
  })
  .superRefine((retry, ctx) => {
    if (retry.initialDelayMs > retry.maxDelayMs)
      ctx.addIssue({
        code: 'custom',
        path: ['initialDelayMs'],
        message: 'initialDelayMs must not exceed maxDelayMs',
        params: { findingCode: 'CONFIG_RETRY_BOUNDS' },
      });
  })
  .prefault({});
export type RetryPolicyConfig = z.output<typeof retrySchema>;

export const engineSchema = z
  .strictObject({
    /** Concurrency window: work items being applied at once (one waiting for its commit frees its slot). @default 8 */
    workers: positiveInt.max(256).default(8),
    /** How long a leased work item stays with one worker before others may take it. @default 60000 */
    leaseMs: positiveInt.default(60_000),
    /** Delta-link poll interval when no webhook fires. @default 5000 */
    pollIntervalMs: positiveInt.default(5000),
    retry: retrySchema,
    /** Mass-change breaker: pause a flow instead of deleting/overwriting too much at once. */
    breaker: z
      .strictObject({
        /** Largest share (0–1) of synced records one run may delete or overwrite. @default 0.2 */
        maxShare: z.number().gt(0).max(1).default(0.2),
        /** Below this many synced records the breaker stays off. @default 1000 */
        minRecords: nonNegativeInt.default(1000),
      })
      .prefault({}),
  })
  .prefault({});

const timeOfDay = z.string().refine((text) => parseTimeOfDay(text) !== null, {
  message: 'must be a time of day HH:MM (24 h, 00:00–23:59)',
});

/**
 * When Campaign's import workflow may be signalled (local time of `timeZone`); a window whose `to`
 * is earlier than its `from` crosses midnight. Files are written and uploaded at any time.
 */
const importWindowSchema = z
  .strictObject({
    from: timeOfDay,
    to: timeOfDay,
    timeZone: nonEmpty.refine(isKnownTimeZone, {
      message: 'must be an IANA time-zone name such as "Europe/Paris" or "UTC"',
    }),
  })
  .refine((w) => w.from !== w.to, {
    message: 'from and to must differ (leave schedule out to signal at any time)',
    path: ['to'],
  });

/**
 * The bulk lane of a record flow (F7, docs/bulk-loads.md): large initial loads, replays and
 * re-baselines go to Campaign as CSV files on the Campaign SFTP (`campaign.sftp`), imported by a
 * Campaign workflow started through its External signal. Off unless configured.
 */
const bulkLaneSchema = z.strictObject({
  /** The import workflow's id (`/workflow/execution/<id>`). */
  workflowId: nonEmpty,
  /** Name of its External signal activity. @default the workflow's only one */
  signalActivity: nonEmpty.optional(),
  /** The signal parameter that carries the file name. @default 'fileName' */
  fileParameter: nonEmpty.default('fileName'),
  /** Use the bulk lane when more bulk-lane items than this are pending for the flow. @default 5000 */
  thresholdRecords: positiveInt.default(5000),
  /** Rows per file (one file per chunk). @default 250000 */
  chunkRows: positiveInt.max(5_000_000).default(250_000),
  /** SFTP folder the workflow reads files from. @default 'd365_loads/imports' */
  importFolder: nonEmpty.default('d365_loads/imports'),
  /** SFTP folder the workflow writes `<file>.rejects.csv` to. @default 'd365_loads/rejects' */
  rejectFolder: nonEmpty.default('d365_loads/rejects'),
  /** SFTP folder the workflow writes `<file>.pkeys.csv` (key → PKey) to. @default 'd365_loads/pkeys' */
  pkeysFolder: nonEmpty.default('d365_loads/pkeys'),
  /** Field separator of the files. @default ',' */
  delimiter: z.enum([',', ';', '\t']).default(','),
  /** How often the import's end (its reject file) is checked. @default 5000 */
  pollIntervalMs: positiveInt.max(600_000).default(5000),
  /** A file whose import has not ended after this long fails the chunk (its rows go back to the queue). @default 21600000 (6 h) */
  importTimeoutMs: positiveInt.default(6 * 3600_000),
  /** Minimum time between two signals of the workflow (Campaign's documented rule). @default 600000 */
  signalIntervalMs: z.number().int().min(0).default(600_000),
  /**
   * Rows held in files not imported yet (a few bytes of memory each, at most ~24): one signal imports every file
   * that is ready, sent when no more rows are coming or when this many are waiting. @default 2000000
   */
  maxRowsInFlight: positiveInt.default(2_000_000),
  /** Signal the workflow only inside this window, e.g. 22:00–06:00 Europe/Paris. @default always */
  schedule: importWindowSchema.optional(),
  /**
   * While the lane works, V8's old generation may grow this many percent over its live size before
   * a full collection (node's `--heap-growing-percent`, process-wide; docs/bulk-loads.md, Memory):
   * bounds the sync's peak memory at a small CPU cost. Not a heap limit. 0: V8's adaptive default.
   * @default 50
   */
  heapGrowthPercent: z.number().int().min(0).max(1000).default(50),
});
export type BulkLaneConfig = z.output<typeof bulkLaneSchema>;

const contactsFlowSchema = z.strictObject({
  /** @default true */
  enabled: z.boolean().default(true),
  /** Dynamics table. @default 'contact' */
  table: dynamicsColumn.default('contact'),
  /** Propagate contact deletes as profile deletes (not privacy deletes). @default false */
  deletes: z.boolean().default(false),
  /** Dynamics column → Campaign profile field. `contactid` → `externalId` is implicit. */
  mapping: mappingSchema,
  /** Only records matching the filter are synced. */
  filter: filterSchema.optional(),
  /** Delete the profile when a record leaves the filter. @default false */
  deleteWhenFilteredOut: z.boolean().default(false),
  /** Write picklists as display label or technical value. @default 'label' */
  picklist: z.enum(picklistModes).default('label'),
  /** Large runs through Campaign's file import (docs/bulk-loads.md). Off unless set. */
  bulk: bulkLaneSchema.optional(),
});
export type ContactsFlowConfig = z.output<typeof contactsFlowSchema>;

const linkSchema = z.strictObject({
  /** Dynamics lookup column (`new_parentid` or `_new_parent_value`). */
  lookup: dynamicsColumn,
  /** Campaign link name on this resource. */
  link: campaignField,
  /** `profile` or another configured custom resource name. */
  target: z.string().min(1),
});
export type LinkConfig = z.output<typeof linkSchema>;

const customTableSchema = z.strictObject({
  /** @default true */
  enabled: z.boolean().default(true),
  /** Dynamics table logical name. */
  table: dynamicsColumn,
  /** Web API entity set name when it is not the plural the metadata reports. */
  entitySet: dynamicsColumn.optional(),
  /** Campaign custom resource (`cus…`). */
  resource: customResourceName,
  /** Campaign column that holds the Dynamics unique id (a "CRM ID" identification key). */
  keyColumn: campaignField,
  mapping: mappingSchema,
  filter: filterSchema.optional(),
  /** @default false */
  deleteWhenFilteredOut: z.boolean().default(false),
  /** Propagate deletes. @default false */
  deletes: z.boolean().default(false),
  /** The resource holds personal data: it must reach the profile through cascading links. @default false */
  personalData: z.boolean().default(false),
  /** Links to the profile or to other custom resources (up to 5, depth ≤ 3). @default [] */
  links: z.array(linkSchema).default([]),
  /** @default 'label' */
  picklist: z.enum(picklistModes).default('label'),
  /** Large runs through Campaign's file import (docs/bulk-loads.md). Off unless set. */
  bulk: bulkLaneSchema.optional(),
});
export type CustomTableConfig = z.output<typeof customTableSchema>;

const optOutFileSchema = z
  .strictObject({
    /** How often the export folder is listed. @default 60000 */
    pollIntervalMs: positiveInt.default(60_000),
    /**
     * Consecutive listings with unchanged size and time before a file is read. 1 reads a file at
     * first sight, possibly while Campaign still writes it (lint warns). @default 2
     */
    stableChecks: positiveInt.default(2),
    /** Alert when no new file arrived for this long. @default 26 */
    stalenessHours: z.number().positive().default(26),
    /** Days processed files are kept. @default 15 */
    retentionDays: positiveInt.default(15),
    /** @default 'archive' */
    afterProcessing: z.enum(afterProcessingActions).default('archive'),
    /** Dynamics rows written per batch. @default 100 */
    batchSize: positiveInt.max(1000).default(100),
    /**
     * Longest line of an export file, in bytes (an export line is about 200). A longer line is
     * skipped to its newline without being held in memory and quarantined (`line-too-long`); the
     * header longer than this fails the file. @default 65536
     */
    maxLineBytes: positiveInt
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    /**
     * Hold a file until its last line is the trailer `#EOF;N` (N data lines). Only for an export
     * workflow that writes one (none is documented for ACS); a trailer present is always checked.
     * @default false
     */
    requireTrailer: z.boolean().default(false),
    /** A file held as not whole (cut last line, missing trailer) for longer is a problem and an alert. @default 60 */
    incompleteAfterMinutes: positiveInt.default(60),
    /**
     * Failed attempts at one file (connection, Dynamics or store errors; it is retried at every
     * poll) before it is a problem and an alert. @default 10
     */
    maxAttempts: positiveInt.max(1000).default(10),
  })
  .prefault({});

const optOutFlowSchema = z
  .strictObject({
    /** @default 'disabled' */
    mode: z.enum(optOutModes).default('disabled'),
    /** Dynamics boolean column → Campaign `blackList*` / `ccpaOptOut` attribute. @default {} */
    mapping: z.record(dynamicsColumn, campaignField).default({}),
    file: optOutFileSchema,
  })
  .prefault({});
export type OptOutFlowConfig = z.output<typeof optOutFlowSchema>;

/** E-mail event types (flow F6), each switched on or off. */
export const emailEventTypeNames = ['send', 'open', 'click', 'bounce'] as const;

const emailEventsFlowSchema = z
  .strictObject({
    /** Campaign e-mail events → Dynamics contact timeline activities (flow F6). @default false */
    enabled: z.boolean().default(false),
    /** Which event types are written; send is the bulk of the volume. @default send false, others true */
    types: z
      .strictObject({
        send: z.boolean().default(false),
        open: z.boolean().default(true),
        click: z.boolean().default(true),
        /** Hard bounces only (soft bounces are counted and skipped). */
        bounce: z.boolean().default(true),
      })
      .prefault({}),
    /** Custom activity table (logical name) per type. */
    tables: z
      .strictObject({
        send: dynamicsColumn.default('adobe_emailsend'),
        open: dynamicsColumn.default('adobe_emailopen'),
        click: dynamicsColumn.default('adobe_emailclick'),
        bounce: dynamicsColumn.default('adobe_emailbounce'),
      })
      .prefault({}),
    /** Web API entity set name per table, when it is not the logical name plus `s`. @default {} */
    entitySets: z.record(dynamicsColumn, dynamicsColumn).default({}),
    /** Columns of the activity tables (the same names on every table). */
    fields: z
      .strictObject({
        /** Holds the Campaign event id: give it an alternate key (docs/email-events.md). */
        eventId: dynamicsColumn.default('adobe_eventid'),
        campaignName: dynamicsColumn.default('adobe_campaignname'),
        deliveryName: dynamicsColumn.default('adobe_deliveryname'),
        /** Click activities only. */
        trackingUrl: dynamicsColumn.default('adobe_trackingurl'),
        mirrorPageUrl: dynamicsColumn.default('adobe_mirrorpageurl'),
      })
      .prefault({}),
    /** Adobe I/O Events journal of the Campaign event registration (Campaign credentials are used). */
    journal: z
      .strictObject({
        /** The registration's Journaling endpoint (Developer Console → event registration → Journaling). */
        url: httpUrl.optional(),
        /** IMS organization sent as `x-ims-org-id`. */
        imsOrgId: z
          .string()
          .regex(/^[A-Za-z0-9]+@AdobeOrg$/, { message: 'must look like 0123ABCD@AdobeOrg' })
          .optional(),
        /** Where the first read starts: the oldest retained event (up to 7 days back) or now. @default 'oldest' */
        start: z.enum(['oldest', 'latest']).default('oldest'),
        /** Events asked for per read. @default 500 */
        limit: positiveInt.max(10_000).default(500),
      })
      .prefault({}),
    /** Wait between reads when the journal has nothing newer and gave no Retry-After. @default 10000 */
    pollIntervalMs: positiveInt.default(10_000),
    /**
     * Most activities per Dynamics `$batch` (Dataverse allows 1,000). The size adapts below it
     * (docs/email-events.md, "Batching"): it starts at `initialBatchSize`, grows while batches come
     * back fast without 429 and the execution-time limit has room, and shrinks on a 429, a timeout,
     * a slow answer or execution-time pressure. A batch also holds at most the events in flight
     * together (`engine.workers`). @default 200
     */
    batchSize: positiveInt.max(1000).default(200),
    /** Activities in the first `$batch` (Microsoft advises starting small; at most `batchSize`). @default 10 */
    initialBatchSize: positiveInt.max(1000).default(10),
    /** A `$batch` answered slower than this halves the next ones. @default 10000 */
    slowBatchMs: positiveInt.default(10_000),
    /** The contact flow whose key map matches Campaign profiles to contacts. @default 'contacts' */
    contactsFlow: nonEmpty.default('contacts'),
  })
  .superRefine((events, ctx) => {
    if (!events.enabled) return;
    if (events.journal.url === undefined)
      ctx.addIssue({ code: 'custom', path: ['journal', 'url'], message: 'required when enabled is true' });
    if (events.journal.imsOrgId === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['journal', 'imsOrgId'],
        message: 'required when enabled is true',
      });
  })
  .prefault({});
export type EmailEventsFlowConfig = z.output<typeof emailEventsFlowSchema>;

export const flowsSchema = z.strictObject({
  contacts: contactsFlowSchema,
  /** @default [] */
  customTables: z.array(customTableSchema).default([]),
  optOut: optOutFlowSchema,
  /** Campaign e-mail events on the Dynamics contact timeline (flow F6); off by default. */
  emailEvents: emailEventsFlowSchema,
});

export const privacySchema = z.strictObject({
  /** @default 'https://platform.adobe.io/data/core/privacy' */
  serviceUrl: httpUrl.default('https://platform.adobe.io/data/core/privacy'),
  /** IMS organization, `…@AdobeOrg`. */
  imsOrgId: z.string().regex(/^[A-Za-z0-9]+@AdobeOrg$/, { message: 'must look like 0123ABCD@AdobeOrg' }),
  /** Identities sent with each job. @default [{ namespace: 'email', type: 'standard', source: 'email' }] */
  namespaces: z
    .array(
      z.strictObject({
        namespace: nonEmpty,
        type: z.enum(privacyIdentityTypes),
        source: z.enum(privacyIdentitySources),
      }),
    )
    .min(1)
    .default([{ namespace: 'email', type: 'standard', source: 'email' }]),
  /** @default 'gdpr' */
  regulation: z.enum(privacyRegulations).default('gdpr'),
  /** First poll interval of a job's status (backs off from there, up to `maxPollIntervalMs`). @default 60000 */
  pollIntervalMs: positiveInt.default(60_000),
  /**
   * Longest wait between two polls of a job's status: a request moves on at most this long after
   * its job completed (raised to `pollIntervalMs` when lower). @default 60000
   */
  maxPollIntervalMs: positiveInt.default(60_000),
  /** A request in progress for longer than this is a health problem (`privacy-request-stuck`). @default 86400000 */
  stuckAfterMs: positiveInt.default(86_400_000),
});

export const serverSchema = z.strictObject({
  /** @default '127.0.0.1' */
  host: nonEmpty.default('127.0.0.1'),
  /** 0 picks a free port. @default 8080 */
  port: port.default(8080),
  /** Bearer token for the API and the dashboard login (secret reference). */
  adminToken: secretRefSchema,
});

export const alertsSchema = z
  .strictObject({
    /** Slack-compatible webhooks. @default [] */
    webhooks: z
      .array(
        z.strictObject({
          /** Webhook URL; may be inline, but it usually embeds a token, so `env:NAME` is preferred. */
          url: secretOrLiteralSchema((text) => (isHttpUrl(text) ? undefined : 'must be an http(s) URL')),
          /** Events sent to this webhook. Default: all. */
          events: z.array(z.enum(alertEvents)).min(1).optional(),
        }),
      )
      .default([]),
    /** The same alert is sent at most once per window. @default 60 */
    dedupeMinutes: positiveInt.default(60),
  })
  .prefault({});

export const historySchema = z
  .strictObject({
    /** Runs (initial loads, replays, re-baselines, opt-out files, privacy requests) are kept this long after they end. @default 90 */
    runRetentionDays: positiveInt.default(90),
  })
  .prefault({});

/**
 * The health monitor's timing (docs/operations.md#health): how often it checks, and the hysteresis
 * of the "storm" problems — Campaign throttling, failing and rate cuts enter after
 * `stormEnterAfterMs`; those, retrying changes and a growing backlog end after `stormLeaveAfterMs`
 * of calm. Other problems (pauses, dead letters, orphans, files, storage) start and end at once.
 */
export const healthSchema = z
  .strictObject({
    /** How often the monitor assesses health. @default 10000 */
    checkIntervalMs: positiveInt.min(100).default(10_000),
    /** Campaign trouble (429, 5xx, transport) must hold this long before it is a problem. @default 60000 */
    stormEnterAfterMs: nonNegativeInt.default(60_000),
    /** Campaign trouble, retrying changes and a growing backlog end after this long calm. @default 120000 */
    stormLeaveAfterMs: nonNegativeInt.default(120_000),
    /** A Campaign failure (429, 5xx, transport) this recent counts as ongoing. @default 120000 */
    campaignTroubleWindowMs: positiveInt.default(120_000),
    /** Changes failing for longer than this are a problem (`changes-retrying`). @default 120000 */
    retryingAfterMs: nonNegativeInt.default(120_000),
  })
  .prefault({});

/** Scale-out: the worker registry's heartbeat and the singleton duties' takeover time. */
export const workersSchema = z
  .strictObject({
    /** How often each `dcsync run` process refreshes its row in the worker registry. @default 2000 */
    heartbeatMs: positiveInt.min(100).max(60_000).default(2000),
    /** A worker without a heartbeat this long is shown as dead. @default min(3 × heartbeatMs, 10000) */
    deadAfterMs: positiveInt.optional(),
    /**
     * How long a singleton duty (a table's poller, the opt-out file ingestor, the privacy runner,
     * the alert monitor) stays with a holder that stopped renewing it (killed, cut off from the
     * store). Another worker takes it over within this plus its attempt interval (min(2 s, TTL/3)).
     * A graceful stop hands duties over at once. @default 10000
     */
    dutyTtlMs: positiveInt.min(300).max(300_000).default(10_000),
  })
  .prefault({});

export const loggingSchema = z
  .strictObject({
    /** @default 'info' */
    level: z.enum(logLevels).default('info'),
  })
  .prefault({});

/** The whole configuration file. */
export const configSchema = z.strictObject({
  dynamics: dynamicsSchema,
  campaign: campaignSchema,
  store: storeSchema,
  engine: engineSchema,
  flows: flowsSchema,
  /** Privacy request orchestration (flow F5); absent = privacy commands refuse to run. */
  privacy: privacySchema.optional(),
  server: serverSchema,
  alerts: alertsSchema,
  history: historySchema,
  /** Health monitor timing: check interval and hysteresis. */
  health: healthSchema,
  workers: workersSchema,
  logging: loggingSchema,
});

/** The configuration after schema validation, before secrets are resolved. */
export type SyncConfig = z.output<typeof configSchema>;
/** What may be written in the YAML file. */
export type SyncConfigInput = z.input<typeof configSchema>;

/**
 * Sections that can be validated on their own. When the whole file fails the schema, each of these
 * is parsed separately so the semantic lint can still run on the parts that are sound.
 */
export const configSections = [
  { path: ['dynamics'], schema: dynamicsSchema },
  { path: ['campaign'], schema: campaignSchema },
  { path: ['store'], schema: storeSchema },
  { path: ['engine'], schema: engineSchema },
  { path: ['flows', 'contacts'], schema: contactsFlowSchema },
  { path: ['flows', 'customTables'], schema: flowsSchema.shape.customTables },
  { path: ['flows', 'optOut'], schema: optOutFlowSchema },
  { path: ['flows', 'emailEvents'], schema: emailEventsFlowSchema },
  { path: ['privacy'], schema: privacySchema.optional() },
  { path: ['server'], schema: serverSchema },
  { path: ['alerts'], schema: alertsSchema },
  { path: ['history'], schema: historySchema },
  { path: ['health'], schema: healthSchema },
  { path: ['logging'], schema: loggingSchema },
] as const;
