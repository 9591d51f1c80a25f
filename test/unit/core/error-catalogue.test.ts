import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorDocsPath, renderErrorCatalogue, withCatalogue } from '../../../scripts/error-docs.js';
import { describeErrorCode, errorCatalogue } from '../../../src/core/error-catalogue.js';
import type { ErrorCodeEntry, ErrorCodePattern } from '../../../src/core/error-codes/error-code-table.js';
import { errorKinds, retryableByKind } from '../../../src/core/error-kind.js';

const srcDir = path.resolve(import.meta.dirname, '../../../src');
const catalogueDir = path.join(srcDir, 'core/error-codes');

function sourcesOutsideCatalogue(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && path.resolve(e.parentPath) !== catalogueDir)
    .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

const areas = errorCatalogue.map(({ area, codes, patterns }) => {
  const table: Readonly<Record<string, ErrorCodeEntry>> = codes;
  const own: readonly ErrorCodePattern[] = patterns;
  return { area, codes: Object.entries(table), patterns: own };
});
const entries = areas.flatMap(({ codes, patterns }) => [...codes.map(([, e]) => e), ...patterns]);

describe('error catalogue', () => {
  it('holds each code once, in upper snake case', () => {
    const codes = areas.flatMap(({ codes }) => codes.map(([code]) => code));
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    expect(new Set(errorCatalogue.map((a) => a.area)).size).toBe(errorCatalogue.length);
  });

  it('gives every code a kind, and a one-line meaning and remedy', () => {
    for (const entry of entries) {
      expect(errorKinds).toContain(entry.kind);
      for (const text of [entry.meaning, entry.remedy]) {
        expect(text).toMatch(/^\S.*\S$/);
        expect(text).not.toContain('\n');
      }
    }
  });

  it('overrides retryability only against the kind’s default', () => {
    for (const entry of entries)
      if (entry.retryable !== undefined) expect(entry.retryable).not.toBe(retryableByKind[entry.kind]);
  });

  it('describes each code with its own area and kind, a pattern by its prefix and statuses', () => {
    for (const { area, codes, patterns } of areas) {
      for (const [code, entry] of codes)
        expect(describeErrorCode(code)).toMatchObject({
          area,
          kind: entry.kind,
          retryable: entry.retryable ?? retryableByKind[entry.kind],
        });
      for (const pattern of patterns) {
        const sample = `${pattern.prefix}${pattern.statuses?.[0] ?? (pattern.suffix === 'status' ? 499 : 'TIMEOUT')}`;
        expect(describeErrorCode(sample)).toMatchObject({ area, kind: pattern.kind });
      }
    }
  });

  it('has no dead entries: every code (every pattern prefix) is used in src', () => {
    const source = sourcesOutsideCatalogue(srcDir);
    for (const { codes, patterns } of areas) {
      for (const [code] of codes) expect(source, code).toContain(`'${code}'`);
      for (const pattern of patterns) expect(source, pattern.pattern).toContain(pattern.prefix);
    }
  });

  it('is what docs/errors.md shows (run `npm run docs:errors` after changing it)', () => {
    const page = readFileSync(errorDocsPath, 'utf8');
    expect(page).toBe(withCatalogue(page, renderErrorCatalogue()));
  });
});
