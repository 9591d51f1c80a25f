import { z } from 'zod';

/**
 * The workflows the emulator models besides the opt-out export: their declaration (seed file,
 * admin API) and the wire vocabulary of `/workflow/execution` (see README "Workflows").
 */

/** Lifecycle of a workflow (`state` of `GET /workflow/execution/{id}`). */
export const workflowStates = ['started', 'paused', 'stopped'] as const;
export type WorkflowState = (typeof workflowStates)[number];

/** Commands of `POST …/commands` (documented: controlling-a-workflow). */
export const workflowCommands = ['start', 'pause', 'resume', 'stop'] as const;
export type WorkflowCommand = (typeof workflowCommands)[number];

/** Types an External signal parameter may be declared with (documented: triggering-a-signal-activity). */
export const signalParameterTypes = ['string', 'number', 'boolean', 'datetime'] as const;
export type SignalParameterType = (typeof signalParameterTypes)[number];

/** Kinds of workflow: `signal` only records its signals; `import` loads a CSV from the SFTP account. */
export const workflowKinds = ['signal', 'import'] as const;
export type WorkflowKind = (typeof workflowKinds)[number];

/** Field separators an import file may use (Campaign recommends tab or `;`; `,` is CSV's). */
export const importDelimiters = [',', ';', '\t'] as const;

/** What an empty cell does to the field on insert or update. */
export const emptyCellRules = ['clear', 'ignore'] as const;
export type EmptyCellRule = (typeof emptyCellRules)[number];

const nameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'letters, digits and _; starts with a letter');
const folderSchema = z
  .string()
  .min(1)
  .refine((value) => !value.split('/').includes('..'), 'must stay under the SFTP root (no "..")');

const signalParameterSchema = z.object({ name: nameSchema, type: z.enum(signalParameterTypes) }).strict();

const importSettingsSchema = z
  .object({
    /** `profile` or a custom resource; rows are reconciled on its identification key only. */
    resource: z.string().min(1),
    /** The signal parameter holding the file name (declared as a string parameter). */
    fileParameter: nameSchema.default('fileName'),
    /** Folder (relative to the SFTP root) the named file is read from. */
    importDir: folderSchema.default('d365_loads/imports'),
    /** Folder the reject file `<base>.rejects.csv` is written to. */
    rejectDir: folderSchema.default('d365_loads/rejects'),
    /** Folder of the export `<base>.pkeys.csv` (key → PKey of every row imported); null: none. */
    exportDir: folderSchema.nullable().default(null),
    /** Emulated time an import takes per 1,000 rows read. */
    msPer1000Rows: z.number().nonnegative().default(0),
    /**
     * Emulated time a run spends before its rows land (Transfer file, Load file, Reconciliation
     * before Update data writes): the rows are read and written that long after the run starts.
     */
    msBeforeWrite: z.number().nonnegative().default(0),
    delimiter: z.enum(importDelimiters).default(','),
    emptyCells: z.enum(emptyCellRules).default('clear'),
  })
  .strict();

/** A workflow as the seed file (`workflows:`) and `POST /_emulator/workflows` declare it. */
export const workflowDefinitionSchema = z
  .object({
    /** The id used in `/workflow/execution/{id}` (`WKF…` on a real tenant). */
    id: z.string().regex(/^[A-Za-z0-9_]+$/, 'letters, digits and _'),
    label: z.string().optional(),
    kind: z.enum(workflowKinds).default('signal'),
    /** State the workflow is in when created (and after a reset). */
    initialState: z.enum(workflowStates).default('started'),
    /** Name of the External signal activity (`signal1` in Adobe's sample). */
    signalActivity: nameSchema.default('signal1'),
    /** Declared signal parameters; an import workflow always declares its file parameter (string). */
    parameters: z.array(signalParameterSchema).default([]),
    import: importSettingsSchema.optional(),
  })
  .strict()
  .superRefine((definition, context) => {
    if (definition.kind === 'import' && definition.import === undefined)
      context.addIssue({ code: 'custom', path: ['import'], message: 'an import workflow needs "import"' });
    if (definition.kind !== 'import' && definition.import !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['import'],
        message: 'only an import workflow takes "import"',
      });
    const names = definition.parameters.map((p) => p.name);
    if (new Set(names).size !== names.length)
      context.addIssue({ code: 'custom', path: ['parameters'], message: 'parameter names repeat' });
  });

export type WorkflowDefinitionInput = z.input<typeof workflowDefinitionSchema>;
export type WorkflowDefinition = z.output<typeof workflowDefinitionSchema>;
export type ImportSettings = z.output<typeof importSettingsSchema>;
export interface SignalParameter {
  name: string;
  type: SignalParameterType;
}

/** The declared parameters, the import's file parameter added as a string when missing. */
export function declaredParameters(definition: WorkflowDefinition): SignalParameter[] {
  const declared = [...definition.parameters];
  const file = definition.import?.fileParameter;
  if (file !== undefined && !declared.some((p) => p.name === file))
    declared.push({ name: file, type: 'string' });
  return declared;
}

/** Outcome of one import (or of one signal of a `signal` workflow). */
export const importOutcomes = ['queued', 'importing', 'done', 'failed', 'cancelled'] as const;
export type ImportOutcome = (typeof importOutcomes)[number];

/** One file a run imported (the signal's file, or each file its manifest lists). */
export interface WorkflowFileRun {
  fileName: string;
  /** `skipped`: imported by an earlier run already (never twice). */
  state: 'importing' | 'done' | 'failed' | 'skipped';
  rowsRead: number;
  inserted: number;
  updated: number;
  rejected: number;
  rejectPath: string | null;
  exportPath: string | null;
  error: string | null;
}

/** One entry of a workflow's history: a signal it accepted and what came of it. */
export interface WorkflowRun {
  /** 1, 2, … per workflow. */
  run: number;
  source: string;
  parameters: Record<string, unknown>;
  /** The file named by the signal (import workflows), as given. */
  fileName: string | null;
  triggeredAt: number;
  /** Emulated time the import ends (known once the file is read); null before. */
  dueAt: number | null;
  finishedAt: number | null;
  state: ImportOutcome;
  rowsRead: number;
  inserted: number;
  updated: number;
  rejected: number;
  /** Paths (relative to the SFTP root) of the files the run wrote, once done. */
  rejectPath: string | null;
  exportPath: string | null;
  /** Why the run failed or was cancelled. */
  error: string | null;
  /** The files the run imported or skipped, in order (one, or those its manifest lists). */
  files: WorkflowFileRun[];
}
