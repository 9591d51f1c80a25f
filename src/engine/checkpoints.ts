import type { z } from 'zod';
import { StoreError } from '../core/errors.js';
import type { CheckpointStore, CheckpointWrite } from '../core/ports/state-store.js';

/**
 * A kind of durable state kept as a checkpoint: its name (per subject, e.g. per flow), what it
 * holds (a zod schema, checked on every read), and its value when nothing was written yet.
 */
export interface CheckpointDefinition<T, S extends string | void = string> {
  /** What it is, for people and error messages: `read cursor of a flow`. */
  readonly description: string;
  /** The checkpoint's name for a subject (a flow id…), or its one name. */
  readonly name: (subject: S) => string;
  readonly schema: z.ZodType<T>;
  /** The value before anything was written. */
  readonly initial: (now: number) => T;
}

/** Declare a checkpoint kind (see {@link CheckpointDefinition}). */
export function defineCheckpoint<T, S extends string | void = string>(
  definition: CheckpointDefinition<T, S>,
): CheckpointDefinition<T, S> {
  return definition;
}

/**
 * Read a checkpoint through its schema: its value, or the definition's initial value when none was
 * written. A value that does not parse is a `CHECKPOINT_INVALID` store error naming the checkpoint
 * and what is wrong — never a silent default, never a cast.
 */
export async function readCheckpoint<T, S extends string | void>(
  store: Pick<CheckpointStore, 'get'>,
  definition: CheckpointDefinition<T, S>,
  subject: S,
  now: number,
): Promise<T> {
  const name = definition.name(subject);
  const raw = await store.get(name);
  return raw === null ? definition.initial(now) : parseCheckpoint(definition, name, raw);
}

/** Like {@link readCheckpoint}, but null when nothing was written. */
export async function readCheckpointIfAny<T, S extends string | void>(
  store: Pick<CheckpointStore, 'get'>,
  definition: CheckpointDefinition<T, S>,
  subject: S,
): Promise<T | null> {
  const name = definition.name(subject);
  const raw = await store.get(name);
  return raw === null ? null : parseCheckpoint(definition, name, raw);
}

/** The write of a checkpoint value (for a store call, or to commit with staged changes). */
export function checkpointWrite<T, S extends string | void>(
  definition: CheckpointDefinition<T, S>,
  subject: S,
  value: T,
): CheckpointWrite {
  return { name: definition.name(subject), value: JSON.stringify(value) };
}

/** Write a checkpoint value. */
export async function writeCheckpoint<T, S extends string | void>(
  store: Pick<CheckpointStore, 'set'>,
  definition: CheckpointDefinition<T, S>,
  subject: S,
  value: T,
): Promise<void> {
  const write = checkpointWrite(definition, subject, value);
  await store.set(write.name, write.value);
}

function parseCheckpoint<T, S extends string | void>(
  definition: CheckpointDefinition<T, S>,
  name: string,
  raw: string,
): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw invalid(definition, name, 'it is not JSON');
  }
  const parsed = definition.schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`)
    .join('; ');
  throw invalid(definition, name, where);
}

function invalid(definition: { description: string }, name: string, why: string): StoreError {
  return new StoreError(
    'CHECKPOINT_INVALID',
    `checkpoint ${name} (the ${definition.description}) cannot be read: ${why}. It was written by another version or edited by hand; delete it only if you know what it holds (dcsync does not guess).`,
  );
}
