import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EmulatorClock } from '../shared/emulator-clock.js';
import { isRecord } from '../shared/is-record.js';
import type { CampaignBehaviourSettings } from './campaign-emulator-context.js';
import {
  importBaseName,
  rejectFileHeader,
  runImportFile,
  type ImportRunResult,
} from './campaign-import-run.js';
import type { CampaignPKeyCodec } from './campaign-pkey-codec.js';
import type { CampaignRecordStore } from './campaign-record-store.js';
import {
  declaredParameters,
  workflowDefinitionSchema,
  type SignalParameter,
  type WorkflowCommand,
  type WorkflowDefinition,
  type ImportSettings,
  type WorkflowDefinitionInput,
  type WorkflowFileRun,
  type WorkflowRun,
  type WorkflowState,
} from './campaign-workflow-model.js';
import {
  campaignErrors,
  type CampaignApiError,
  formatCampaignDateTime,
  parseCampaignDateTime,
} from './campaign-wire-format.js';
import type { SftpStorage } from './sftp/sftp-storage.js';

/** Largest signal payload (documented: "should not exceed 64Ko"). */
export const maxSignalPayloadBytes = 64 * 1024;
/** Runs kept per workflow in the history (older ones are dropped). */
const historyLimit = 1000;
/** Runs shown in the execution body's import activity. */
const historyShown = 50;

/** One file of a run: read (rows applied), its results renamed into place at `dueAt`. */
interface ActivePart {
  file: WorkflowFileRun;
  /** Null for a file skipped as imported already. */
  result: ImportRunResult | null;
  dueAt: number;
  finished: boolean;
}

interface ActiveRun {
  run: WorkflowRun;
  stop: boolean;
  /** Emulated start: the signal, or the end of the run before it. */
  startAt: number;
  parts: ActivePart[];
  /** Every file of the run has been read. */
  read: boolean;
  /** Why the manifest named by the signal could not be read (no file of it is imported). */
  manifestError: string | null;
  /** Starts reading (and writing rows) once the emulated time reaches `readAt` (`msBeforeWrite`). */
  begin: (() => void) | null;
  readAt: number;
}

interface WorkflowEntry {
  definition: WorkflowDefinition;
  parameters: SignalParameter[];
  pkey: string;
  signalPKey: string;
  importPKey: string;
  state: WorkflowState;
  lastSignalAt: number | null;
  runs: WorkflowRun[];
  queue: WorkflowRun[];
  active: ActiveRun | null;
  /** End of the last run (emulated), so runs follow one another. */
  lastEndAt: number;
  nextRun: number;
  /** Names of the files this workflow has imported (its log): a file is never imported twice. */
  imported: Set<string>;
  /** Settles when the active run has read its file (tests wait on it). */
  reading: Promise<void>;
}

/** A workflow as the admin API shows it. */
export interface WorkflowView {
  definition: WorkflowDefinition;
  state: WorkflowState;
  importing: boolean;
  lastSignalAt: number | null;
  queued: number;
}

/**
 * The workflows declared by the seed file or the admin API (not the opt-out export, which keeps its
 * own model): their lifecycle (`start`, `pause`, `resume`, `stop`), the External signal with its
 * rules (declared parameters and types, `source` mandatory, 64 KB, started only, one signal per
 * interval), and for `import` workflows the import of the named CSV from the SFTP account, which
 * stays `importing` for the emulated time its rows cost and then writes its reject file (and
 * export) under their final names. Runs of one workflow follow one another.
 */
export class CampaignWorkflows {
  private readonly entries = new Map<string, WorkflowEntry>();
  private storageOfAccount: SftpStorage | null = null;

  constructor(
    private readonly deps: {
      clock: EmulatorClock;
      codec: CampaignPKeyCodec;
      store: CampaignRecordStore;
      behaviour: CampaignBehaviourSettings;
      /** Ids taken by workflows modelled elsewhere (the opt-out export). */
      reservedIds: readonly string[];
    },
  ) {}

  /** The SFTP account's disk; null when the emulator runs without SFTP (imports then fail). */
  get storage(): SftpStorage | null {
    return this.storageOfAccount;
  }

  /** Attach the SFTP account; the folders of every import workflow are created on it. */
  set storage(storage: SftpStorage | null) {
    this.storageOfAccount = storage;
    for (const entry of this.entries.values()) this.createFolders(entry.definition);
  }

  /** Declare a workflow; throws an Error naming what is wrong. */
  define(input: WorkflowDefinitionInput): WorkflowView {
    const parsed = workflowDefinitionSchema.safeParse(input);
    if (!parsed.success)
      throw new Error(
        `workflow: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(definition)'}: ${i.message}`).join('; ')}`,
      );
    const definition = parsed.data;
    if (this.entries.has(definition.id) || this.deps.reservedIds.includes(definition.id))
      throw new Error(`workflow ${definition.id} exists already`);
    const parameters = declaredParameters(definition);
    if (definition.import) {
      const resource = this.deps.store.definition(definition.import.resource);
      if (!resource)
        throw new Error(`workflow ${definition.id}: unknown resource '${definition.import.resource}'`);
      if (resource.keyField === null)
        throw new Error(
          `workflow ${definition.id}: resource '${resource.name}' has no identification key to reconcile on`,
        );
      const file = parameters.find((p) => p.name === definition.import!.fileParameter);
      if (file?.type !== 'string')
        throw new Error(`workflow ${definition.id}: parameter '${file?.name}' must be declared as a string`);
    }
    const id = hashName(definition.id);
    const entry: WorkflowEntry = {
      definition,
      parameters,
      pkey: this.deps.codec.encodeRecord('workflow', id),
      signalPKey: this.deps.codec.encodeRecord('workflowActivity', id * 4 + 1),
      importPKey: this.deps.codec.encodeRecord('workflowActivity', id * 4 + 2),
      state: definition.initialState,
      lastSignalAt: null,
      runs: [],
      queue: [],
      active: null,
      lastEndAt: 0,
      nextRun: 1,
      imported: new Set(),
      reading: Promise.resolve(),
    };
    this.entries.set(definition.id, entry);
    this.createFolders(definition);
    return this.view(entry);
  }

  /** True when `segment` (a workflow id or PKey) names one of these workflows. */
  has(segment: string): boolean {
    return this.find(segment) !== undefined;
  }

  list(): WorkflowView[] {
    return [...this.entries.values()].map((entry) => this.view(entry));
  }

  get(id: string): WorkflowView | undefined {
    const entry = this.entries.get(id);
    return entry ? this.view(entry) : undefined;
  }

  /** Every run of a workflow, oldest first (the import history). */
  history(id: string): WorkflowRun[] {
    return this.require(id).runs.map((run) => ({
      ...run,
      parameters: { ...run.parameters },
      files: run.files.map((file) => ({ ...file })),
    }));
  }

  /** Resolves once the workflow's current run has read its whole file (not its emulated end). */
  async settled(id: string): Promise<void> {
    const entry = this.require(id);
    for (;;) {
      const before = entry.reading;
      await before;
      if (entry.reading === before) return;
    }
  }

  /** Forget every workflow (the emulator's reset re-declares the seed's). Runs being read are cancelled. */
  clear(): void {
    for (const entry of this.entries.values()) this.cancelAll(entry, 'the emulator was reset');
    this.entries.clear();
  }

  // ---------------------------------------------------------------- wire

  /** `GET /workflow/execution/{id|PKey}`. */
  execution(segment: string, base: string): Record<string, unknown> {
    const entry = this.requireWire(segment);
    this.tick();
    const { definition } = entry;
    const href = `${base}/workflow/execution/${definition.id}`;
    const activity: Record<string, unknown> = {
      [definition.signalActivity]: {
        PKey: entry.signalPKey,
        name: definition.signalActivity,
        label: 'External signal',
        type: 'signal',
        state: entry.state === 'started' ? 'waiting' : 'inactive',
        lastTriggered: entry.lastSignalAt === null ? '' : formatCampaignDateTime(entry.lastSignalAt),
        parameters: entry.parameters.map((p) => ({ name: p.name, type: p.type })),
        trigger: {
          href: `${base}/workflow/execution/${entry.pkey}/activities/activity/${entry.signalPKey}/trigger/`,
        },
      },
    };
    if (definition.import) {
      activity.import1 = {
        PKey: entry.importPKey,
        name: 'import1',
        label: `Import into ${definition.import.resource}`,
        type: 'import',
        state: entry.active ? 'importing' : 'idle',
        resource: definition.import.resource,
        importDir: definition.import.importDir,
        rejectDir: definition.import.rejectDir,
        exportDir: definition.import.exportDir ?? '',
        history: entry.runs.slice(-historyShown).map((run) => wireRun(run)),
      };
    }
    return {
      PKey: entry.pkey,
      id: definition.id,
      label: definition.label ?? definition.id,
      state: entry.state,
      href,
      activities: { activity },
    };
  }

  /** `POST /workflow/execution/{id|PKey}/commands`. */
  command(segment: string, command: WorkflowCommand): void {
    const entry = this.requireWire(segment);
    switch (command) {
      case 'start':
      case 'resume':
        entry.state = 'started';
        this.pump(entry);
        return;
      case 'pause':
        if (entry.state === 'started') entry.state = 'paused';
        return;
      case 'stop':
        entry.state = 'stopped';
        this.cancelAll(entry, 'the workflow was stopped');
        return;
    }
  }

  /** `POST /workflow/execution/{PKey}/activities/activity/{PKey}/trigger`. */
  trigger(
    workflowSegment: string,
    activitySegment: string,
    body: Record<string, unknown>,
  ): Record<string, unknown> {
    const entry = this.requireWire(workflowSegment);
    if (activitySegment !== entry.signalPKey && activitySegment !== entry.definition.signalActivity)
      throw campaignErrors.notFound('Activity', 'xtk:workflow:activity', activitySegment);
    const refuse = (reason: string): CampaignApiError =>
      campaignErrors.signalRefused(reason, this.deps.behaviour.signalErrorStatus);
    const size = Buffer.byteLength(JSON.stringify(body), 'utf8');
    if (size > maxSignalPayloadBytes)
      throw refuse(`The payload is ${size} bytes; it must not exceed ${maxSignalPayloadBytes} bytes (64Ko).`);
    const source = body.source;
    if (typeof source !== 'string' || source.trim() === '')
      throw refuse("The 'source' attribute is mandatory in the payload.");
    const given = body.parameters ?? {};
    if (!isRecord(given)) throw refuse("'parameters' must be an object of parameter names and values.");
    for (const [name, value] of Object.entries(given)) {
      const declared = entry.parameters.find((p) => p.name === name);
      if (!declared) throw refuse(`'${name}' parameter isn't defined in signal activity.`);
      if (!fitsType(declared.type, value))
        throw refuse(
          `'${name}' parameter is declared as '${declared.type}' in signal activity; the value given is not one.`,
        );
    }
    if (entry.state !== 'started')
      throw refuse(
        `The workflow '${entry.definition.id}' is ${entry.state}: a signal can only be triggered when the workflow is started.`,
      );
    const now = this.deps.clock.now();
    const interval = this.deps.behaviour.signalMinIntervalMs;
    if (entry.lastSignalAt !== null && now - entry.lastSignalAt < interval)
      throw refuse(
        `The signal activity '${entry.definition.signalActivity}' was triggered less than ${formatInterval(interval)} ago ` +
          `(at ${formatCampaignDateTime(entry.lastSignalAt)}); it cannot be triggered again before ${formatCampaignDateTime(entry.lastSignalAt + interval)}.`,
      );
    entry.lastSignalAt = now;
    const fileParameter = entry.definition.import?.fileParameter;
    const run: WorkflowRun = {
      run: entry.nextRun++,
      source,
      parameters: { ...given },
      fileName: fileParameter === undefined ? null : stringOf(given[fileParameter]),
      triggeredAt: now,
      dueAt: null,
      finishedAt: null,
      state: 'queued',
      rowsRead: 0,
      inserted: 0,
      updated: 0,
      rejected: 0,
      rejectPath: null,
      exportPath: null,
      error: null,
      files: [],
    };
    entry.runs.push(run);
    if (entry.runs.length > historyLimit) entry.runs.splice(0, entry.runs.length - historyLimit);
    if (!entry.definition.import) {
      run.state = 'done';
      run.dueAt = now;
      run.finishedAt = now;
    } else {
      entry.queue.push(run);
      this.pump(entry);
    }
    return {};
  }

  /** End the runs whose emulated time has come (called on every request, each second and on clock moves). */
  tick(): void {
    const now = this.deps.clock.now();
    for (const entry of this.entries.values()) {
      const active = entry.active;
      if (active?.begin && active.readAt <= now) {
        const begin = active.begin;
        active.begin = null;
        begin();
      }
      if (!active?.read) continue;
      for (const part of active.parts) if (!part.finished && part.dueAt <= now) this.finishPart(part);
      if (active.run.dueAt === null || active.run.dueAt > now) continue;
      this.finish(entry, active);
      this.pump(entry);
    }
  }

  // ---------------------------------------------------------------- runs

  private pump(entry: WorkflowEntry): void {
    if (entry.active || entry.state !== 'started') return;
    const run = entry.queue.shift();
    if (!run) return;
    const settings = entry.definition.import!;
    const active: ActiveRun = {
      run,
      stop: false,
      startAt: Math.max(run.triggeredAt, entry.lastEndAt),
      parts: [],
      read: false,
      manifestError: null,
      begin: null,
      readAt: 0,
    };
    entry.active = active;
    run.state = 'importing';
    const storage = this.storage;
    const read = async (): Promise<void> => {
      if (storage === null) {
        run.state = 'failed';
        run.error = 'the emulator runs without SFTP: there is no file to import';
        run.dueAt = active.startAt;
        run.finishedAt = active.startAt;
        entry.lastEndAt = active.startAt;
        entry.active = null;
        return;
      }
      const requested = run.fileName ?? '';
      let names: string[] = [requested];
      if (isManifestName(requested)) {
        const listed = await readManifest(storage, settings.importDir, requested);
        if (typeof listed === 'string') {
          active.manifestError = listed;
          names = [];
        } else names = listed;
      }
      let at = Math.max(active.startAt, active.readAt);
      for (const name of names) {
        if (active.stop) return;
        const file: WorkflowFileRun = {
          fileName: name,
          state: 'importing',
          rowsRead: 0,
          inserted: 0,
          updated: 0,
          rejected: 0,
          rejectPath: null,
          exportPath: null,
          error: null,
        };
        run.files.push(file);
        if (entry.imported.has(name) || (await rejectFileExists(storage, settings, name))) {
          // Imported by an earlier run (its log, or the reject file that marks an import's end): never again.
          file.state = 'skipped';
          active.parts.push({ file, result: null, dueAt: at, finished: false });
          continue;
        }
        const result = await runImportFile({
          settings,
          fileName: name,
          store: this.deps.store,
          storage,
          shouldStop: () => active.stop,
        });
        if (active.stop) {
          removeQuietly(result.rejectTemp);
          if (result.exportTemp) removeQuietly(result.exportTemp);
          return;
        }
        entry.imported.add(name);
        file.rowsRead = result.rowsRead;
        file.inserted = result.inserted;
        file.updated = result.updated;
        file.rejected = result.rejected;
        run.rowsRead += result.rowsRead;
        run.inserted += result.inserted;
        run.updated += result.updated;
        run.rejected += result.rejected;
        at += Math.ceil((result.rowsRead * settings.msPer1000Rows) / 1000);
        active.parts.push({ file, result, dueAt: at, finished: false });
      }
      run.dueAt = at;
      active.read = true;
    };
    const start = (): void => {
      const reading = read().catch((error: unknown) => {
        run.state = 'failed';
        run.error = error instanceof Error ? error.message : String(error);
        if (entry.active === active) entry.active = null;
      });
      entry.reading = reading.then(() => {
        this.tick();
        if (entry.active === null) this.pump(entry);
      });
    };
    const before = entry.definition.import?.msBeforeWrite ?? 0;
    if (before > 0 && storage !== null) {
      // The rows land later: the run reads its files once the emulated time has come (tick).
      active.readAt = active.startAt + before;
      let release!: () => void;
      entry.reading = new Promise<void>((resolve) => (release = resolve));
      active.begin = () => {
        start();
        void entry.reading.then(release);
      };
    } else start();
  }

  /** End one file of the active run: its reject file (and export) appear under their final names. */
  private finishPart(part: ActivePart): void {
    part.finished = true;
    const { file, result } = part;
    if (result === null) return;
    const storage = this.storage!;
    try {
      renameSync(result.rejectTemp, storage.toLocalPath(result.rejectPath));
      file.rejectPath = result.rejectPath;
      if (result.exportTemp !== null && result.exportPath !== null && result.error === null) {
        renameSync(result.exportTemp, storage.toLocalPath(result.exportPath));
        file.exportPath = result.exportPath;
      } else if (result.exportTemp !== null) removeQuietly(result.exportTemp);
      void storage.reserve(sizeOf(storage.toLocalPath(result.rejectPath))).catch(() => undefined);
      file.state = result.error === null ? 'done' : 'failed';
      file.error = result.error;
    } catch (error) {
      file.state = 'failed';
      file.error = `the file's results could not be written: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** End the active run: a manifest's own reject file appears (row 0 when the list could not be read). */
  private finish(entry: WorkflowEntry, active: ActiveRun): void {
    const { run } = active;
    const single = !isManifestName(run.fileName ?? '');
    if (single) {
      const file = run.files[0];
      // A file imported already ends the run as done (its file shows `skipped`).
      run.state =
        file === undefined || file.state === 'importing'
          ? 'failed'
          : file.state === 'skipped'
            ? 'done'
            : file.state;
      run.error = file?.error ?? null;
      run.rejectPath = file?.rejectPath ?? null;
      run.exportPath = file?.exportPath ?? null;
    } else {
      const storage = this.storage!;
      const settings = entry.definition.import!;
      const rejectPath = path.posix
        .join(storage.toVirtualPath(settings.rejectDir), `${importBaseName(run.fileName ?? '')}.rejects.csv`)
        .slice(1);
      try {
        const lines = [rejectFileHeader.join(settings.delimiter)];
        if (active.manifestError !== null)
          lines.push(['0', '', csvCell(active.manifestError, settings.delimiter)].join(settings.delimiter));
        const local = storage.toLocalPath(rejectPath);
        const temp = path.join(path.dirname(local), `.${path.basename(local)}.part`);
        writeFileSync(temp, `${lines.join('\n')}\n`);
        renameSync(temp, local);
        run.rejectPath = rejectPath;
        run.state = active.manifestError === null ? 'done' : 'failed';
        run.error = active.manifestError;
      } catch (error) {
        run.state = 'failed';
        run.error = `the run's files could not be written: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    run.finishedAt = run.dueAt;
    entry.lastEndAt = run.dueAt ?? active.startAt;
    entry.active = null;
  }

  private cancelAll(entry: WorkflowEntry, reason: string): void {
    const cancel = (run: WorkflowRun) => {
      run.state = 'cancelled';
      run.error = reason;
      run.finishedAt = this.deps.clock.now();
    };
    if (entry.active) {
      entry.active.stop = true;
      for (const part of entry.active.parts) {
        if (part.finished || part.result === null) continue;
        removeQuietly(part.result.rejectTemp);
        if (part.result.exportTemp) removeQuietly(part.result.exportTemp);
      }
      cancel(entry.active.run);
      entry.active = null;
    }
    for (const run of entry.queue.splice(0)) cancel(run);
  }

  // ---------------------------------------------------------------- helpers

  /** The import, reject and export folders exist on the account, as an administrator set them up. */
  private createFolders(definition: WorkflowDefinition): void {
    const storage = this.storageOfAccount;
    const settings = definition.import;
    if (!storage || !settings) return;
    for (const folder of [settings.importDir, settings.rejectDir, settings.exportDir])
      if (folder !== null) mkdirSync(storage.toLocalPath(folder), { recursive: true });
  }

  private view(entry: WorkflowEntry): WorkflowView {
    return {
      definition: entry.definition,
      state: entry.state,
      importing: entry.active !== null,
      lastSignalAt: entry.lastSignalAt,
      queued: entry.queue.length,
    };
  }

  private find(segment: string): WorkflowEntry | undefined {
    const byId = this.entries.get(segment);
    if (byId) return byId;
    for (const entry of this.entries.values()) if (entry.pkey === segment) return entry;
    return undefined;
  }

  private requireWire(segment: string): WorkflowEntry {
    const entry = this.find(segment);
    if (!entry) throw campaignErrors.notFound('Workflow', 'xtk:workflow', segment);
    return entry;
  }

  private require(id: string): WorkflowEntry {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`no workflow ${id}`);
    return entry;
  }
}

function wireRun(run: WorkflowRun): Record<string, unknown> {
  const time = (ms: number | null) => (ms === null ? '' : formatCampaignDateTime(ms));
  return {
    run: run.run,
    fileName: run.fileName ?? '',
    source: run.source,
    state: run.state,
    triggered: time(run.triggeredAt),
    finished: time(run.finishedAt),
    rowsRead: run.rowsRead,
    inserted: run.inserted,
    updated: run.updated,
    rejected: run.rejected,
    rejectFile: run.rejectPath ?? '',
    exportFile: run.exportPath ?? '',
    error: run.error ?? '',
    files: run.files.map((file) => ({
      fileName: file.fileName,
      state: file.state,
      rowsRead: file.rowsRead,
      inserted: file.inserted,
      updated: file.updated,
      rejected: file.rejected,
      rejectFile: file.rejectPath ?? '',
      exportFile: file.exportPath ?? '',
      error: file.error ?? '',
    })),
  };
}

/** Suffix of a signal's file name that names a manifest: a list of the files to import. */
export const manifestSuffix = '.manifest';

function isManifestName(fileName: string): boolean {
  return fileName.toLowerCase().endsWith(manifestSuffix);
}

/** Largest manifest read (a list of file names, not data). */
const maxManifestBytes = 1024 * 1024;

/**
 * The files a manifest lists (one name per line, blank lines ignored, in the import folder), or
 * why it cannot be read.
 */
async function readManifest(
  storage: SftpStorage,
  importDir: string,
  fileName: string,
): Promise<string[] | string> {
  if (fileName.includes('/') || fileName.includes('\\'))
    return `'${fileName}' is not a file name in ${importDir} (no folders allowed)`;
  const local = await storage.resolveLocalPath(path.posix.join(importDir, fileName));
  let text: string;
  try {
    const info = await stat(local);
    if (!info.isFile()) return `manifest '${fileName}' not found in ${importDir}`;
    if (info.size > maxManifestBytes)
      return `manifest '${fileName}' is ${info.size} bytes; a manifest lists file names and must not exceed ${maxManifestBytes} bytes`;
    text = await readFile(local, 'utf8');
  } catch {
    return `manifest '${fileName}' not found in ${importDir}`;
  }
  const names: string[] = [];
  for (const [index, line] of text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .entries()) {
    const name = line.trim();
    if (name === '') continue;
    if (name.includes('/') || name.includes('\\') || isManifestName(name))
      return `line ${index + 1} of the manifest is not a data file name in ${importDir} (no folders, no manifest): '${name}'`;
    if (!names.includes(name)) names.push(name);
  }
  if (names.length === 0) return `manifest '${fileName}' lists no file`;
  return names;
}

/** True when the file's reject file exists: the mark its import ended (on any run). */
async function rejectFileExists(
  storage: SftpStorage,
  settings: ImportSettings,
  fileName: string,
): Promise<boolean> {
  const local = await storage.resolveLocalPath(
    path.posix.join(settings.rejectDir, `${importBaseName(fileName)}.rejects.csv`),
  );
  return stat(local).then(
    (info) => info.isFile(),
    () => false,
  );
}

function csvCell(text: string, delimiter: string): string {
  return text.includes(delimiter) || /["\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function fitsType(type: SignalParameter['type'], value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false';
    case 'datetime':
      return typeof value === 'string' && !Number.isNaN(parseCampaignDateTime(value));
  }
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function formatInterval(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} minutes` : `${ms / 1000} seconds`;
}

function hashName(name: string): number {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % 100_000_000;
}

function removeQuietly(localPath: string): void {
  rmSync(localPath, { force: true });
}

function sizeOf(localPath: string): number {
  try {
    return statSync(localPath).size;
  } catch {
    return 0;
  }
}
