/**
 * Renders the error catalogue into docs/errors.md, between its markers, so the page and the code
 * cannot drift apart (`test/unit/core/error-catalogue.test.ts` checks it). Run: `npm run docs:errors`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exitCodeByArea } from '../src/cli/report-error.js';
import { describeErrorCode, errorCatalogue, remoteErrorAreas } from '../src/core/error-catalogue.js';
import type { ErrorCodeEntry, ErrorCodePattern } from '../src/core/error-codes/error-code-table.js';
import { errorKindMeanings, errorKinds, retryableByKind } from '../src/core/error-kind.js';
import { frameworkAnswers, httpStatusByKind, httpStatusOf } from '../src/server/http-error.js';

export const errorDocsPath = fileURLToPath(new URL('../docs/errors.md', import.meta.url));
export const startMarker = '<!-- error-catalogue:start (npm run docs:errors) -->';
export const endMarker = '<!-- error-catalogue:end -->';

/** What each exit code that an error can cause tells the operator (README's table). */
const exitMeanings: Readonly<Record<number, string>> = {
  1: 'unexpected: an error of dcsync itself',
  3: 'the configuration is invalid',
  4: 'a remote system failed or refused',
  5: 'the state store failed',
  6: 'a live pre-flight check failed',
};

const cell = (text: string) => text.replace(/\|/g, '\\|');
const yesNo = (value: boolean) => (value ? 'yes' : 'no');

const frameworkStatus = new Map<string, string>(
  Object.entries(frameworkAnswers).map(([status, [code]]) => [code, status]),
);

function row(codeCell: string, entry: ErrorCodeEntry, http: string, retryable: boolean): string {
  const retried = entry.retryable === undefined ? yesNo(retryable) : `**${yesNo(retryable)}** (by this code)`;
  return `| ${codeCell} | ${entry.kind} | ${http} | ${retried} | ${cell(entry.meaning)} | ${cell(entry.remedy)} |`;
}

/** The generated part of docs/errors.md: kinds, exit codes, then every code by area. */
export function renderErrorCatalogue(): string {
  const lines: string[] = [];
  lines.push('## Kinds', '');
  lines.push('| kind | what it means | HTTP status | retried |', '|---|---|---|---|');
  for (const kind of errorKinds) {
    lines.push(
      `| \`${kind}\` | ${cell(errorKindMeanings[kind])} | ${httpStatusByKind[kind]} | ${yesNo(retryableByKind[kind])} |`,
    );
  }
  lines.push(
    '',
    `Errors of a remote system (${remoteErrorAreas.map((a) => `\`${a}\``).join(', ')}) are not the`,
    "caller's fault: the API answers them with **503** when a later attempt can succeed and **502**",
    'otherwise, whatever their kind.',
    '',
  );
  lines.push('## Exit codes of `dcsync`', '');
  lines.push('| exit code | means | areas |', '|---|---|---|');
  const byExit = new Map<number, string[]>();
  for (const { area } of errorCatalogue) {
    const exit = exitCodeByArea[area];
    byExit.set(exit, [...(byExit.get(exit) ?? []), `\`${area}\``]);
  }
  for (const [exit, areas] of [...byExit].sort(([a], [b]) => a - b))
    lines.push(`| ${exit} | ${exitMeanings[exit] ?? ''} | ${areas.join(', ')} |`);
  lines.push(
    '',
    'An error without a code (not a `SyncError`) exits with 1. The other exit codes do not come from',
    'errors: 0 success, 2 wrong usage, 7 finished but needs attention, 130 interrupted (README).',
    '',
  );
  lines.push('## Codes by area');
  for (const { area, title, codes, patterns } of errorCatalogue) {
    lines.push('', `### ${title}`, '', `Area \`${area}\`, exit code ${exitCodeByArea[area]}.`, '');
    lines.push('| code | kind | HTTP | retried | what it means | what to do |', '|---|---|---|---|---|---|');
    const entries: Readonly<Record<string, ErrorCodeEntry>> = codes;
    for (const [code, entry] of Object.entries(entries)) {
      const described = describeErrorCode(code)!;
      const http = frameworkStatus.get(code) ?? String(httpStatusOf(described));
      lines.push(row(`\`${code}\``, entry, http, described.retryable));
    }
    const own: readonly ErrorCodePattern[] = patterns;
    for (const pattern of own) {
      const retryable = pattern.retryable ?? retryableByKind[pattern.kind];
      const narrowed = own.some((p) => p !== pattern && p.prefix === pattern.prefix && p.statuses);
      const which = pattern.statuses
        ? ` (${pattern.statuses.join(', ')})`
        : narrowed
          ? ' (other statuses)'
          : '';
      const http =
        area === 'server' ? 'its status' : String(httpStatusOf({ area, kind: pattern.kind, retryable }));
      lines.push(row(`\`${pattern.pattern}\`${which}`, pattern, http, retryable));
    }
  }
  return lines.join('\n');
}

/** docs/errors.md with its generated part replaced by `rendered`. */
export function withCatalogue(page: string, rendered: string): string {
  const start = page.indexOf(startMarker);
  const end = page.indexOf(endMarker);
  if (start < 0 || end < start)
    throw new Error(`docs/errors.md lacks the markers ${startMarker} … ${endMarker}`);
  return `${page.slice(0, start + startMarker.length)}\n\n${rendered}\n\n${page.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const page = readFileSync(errorDocsPath, 'utf8');
  writeFileSync(errorDocsPath, withCatalogue(page, renderErrorCatalogue()));
  console.log(`wrote ${errorDocsPath}`);
}
