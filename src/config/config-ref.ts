import { z } from 'zod';

/** The reference schemes a secret may use in the YAML file. */
export const refSchemes = ['env', 'file'] as const;
export type RefScheme = (typeof refSchemes)[number];

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A reference to a secret (`env:NAME`, `file:/path`), or — only where the schema allows it — an
 * inline value that is still treated as a secret (`literal`). Resolved into a `Secret` by the loader.
 */
export class SecretRef {
  constructor(
    readonly scheme: RefScheme | 'literal',
    /** Variable name or file path; for `literal`, the value itself (never printed). */
    readonly target: string,
  ) {}

  /** The reference as written, or `[inline]` for a literal (whose text is never shown). */
  describe(): string {
    return this.scheme === 'literal' ? '[inline]' : `${this.scheme}:${this.target}`;
  }

  toJSON(): string {
    return this.describe();
  }
}

/** A reference to a non-secret value (e.g. a client id kept in the environment); resolves to a string. */
export class PlainRef {
  constructor(
    readonly scheme: RefScheme,
    readonly target: string,
  ) {}

  describe(): string {
    return `${this.scheme}:${this.target}`;
  }

  toJSON(): string {
    return this.describe();
  }
}

/** Stable finding codes raised while parsing references. */
export const refIssueCodes = {
  literal: 'CONFIG_LITERAL_SECRET',
  malformed: 'CONFIG_BAD_REFERENCE',
} as const;

type RefParse = { ok: true; scheme: RefScheme; target: string } | { ok: false; message?: string };

function parseRef(text: string): RefParse {
  const match = /^(env|file):(.*)$/s.exec(text);
  if (!match) return { ok: false };
  const scheme = match[1] as RefScheme;
  const target = match[2]!.trim();
  if (scheme === 'env' && !envNamePattern.test(target))
    return { ok: false, message: 'env: references need a variable name like env:CAMPAIGN_CLIENT_SECRET' };
  if (scheme === 'file' && target.length === 0)
    return { ok: false, message: 'file: references need a path like file:/etc/dcsync/secret' };
  return { ok: true, scheme, target };
}

const refTypeMessage = 'expected a reference env:NAME or file:/path';

type RefContext = z.core.$RefinementCtx<string>;

/** Add an issue that never carries the offending value. */
function rejectValue(ctx: RefContext, message: string, findingCode?: string): typeof z.NEVER {
  ctx.issues.push({
    code: 'custom',
    input: undefined,
    message,
    ...(findingCode ? { params: { findingCode } } : {}),
  });
  return z.NEVER;
}

function rejectMalformed(ctx: RefContext, message: string | undefined): typeof z.NEVER {
  return rejectValue(ctx, message ?? refTypeMessage, refIssueCodes.malformed);
}

/**
 * A secret field: only `env:NAME` or `file:/path`. A literal value is an error whose message never
 * repeats the value.
 */
export const secretRefSchema = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : refTypeMessage) })
  .transform((text, ctx) => {
    const ref = parseRef(text);
    if (ref.ok) return new SecretRef(ref.scheme, ref.target);
    if (ref.message) return rejectMalformed(ctx, ref.message);
    return rejectValue(
      ctx,
      'literal secrets are not allowed; use env:NAME or file:/path',
      refIssueCodes.literal,
    );
  });

/**
 * A non-secret field that may still come from the environment or a file (e.g. a client id):
 * a plain string, `env:NAME` or `file:/path`.
 */
export const valueOrRefSchema = z
  .string()
  .min(1)
  .transform((text, ctx): string | PlainRef => {
    if (!/^(env|file):/.test(text)) return text;
    const ref = parseRef(text);
    return ref.ok ? new PlainRef(ref.scheme, ref.target) : rejectMalformed(ctx, ref.message);
  });

/**
 * A value that is sensitive but commonly written inline (e.g. an alert webhook URL that may embed a
 * token): a literal is accepted, still wrapped as a secret and kept out of every output. `check`
 * validates a literal and returns a message when it is wrong (the message never repeats the value).
 */
export function secretOrLiteralSchema(check?: (literal: string) => string | undefined) {
  return z
    .string()
    .min(1)
    .transform((text, ctx): SecretRef => {
      if (!/^(env|file):/.test(text)) {
        const problem = check?.(text);
        return problem === undefined ? new SecretRef('literal', text) : rejectValue(ctx, problem);
      }
      const ref = parseRef(text);
      return ref.ok ? new SecretRef(ref.scheme, ref.target) : rejectMalformed(ctx, ref.message);
    });
}
