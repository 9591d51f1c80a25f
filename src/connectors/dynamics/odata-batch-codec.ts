import { randomUUID } from 'node:crypto';

/** One request inside a `$batch`. */
export interface BatchOperation {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path below `/api/data/v9.2/`, e.g. `contacts(…)`, or `$1` to reference an earlier part of a change set. */
  path: string;
  headers?: Record<string, string> | undefined;
  json?: unknown;
}

/** The answer to one part, in request order (change-set parts flattened). */
export interface BatchPartResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  contentId: string | undefined;
}

const crlf = '\r\n';

const apiPrefix = '/api/data/v9.2/';
const partHead = `Content-Type: application/http${crlf}Content-Transfer-Encoding: binary${crlf}`;

/**
 * One part as text. Built by concatenation, without arrays of lines or a copy of the headers: a
 * `$batch` of hundreds of activities encodes one part per activity.
 */
function requestPart(operation: BatchOperation, contentId: string | undefined): string {
  const path = operation.path;
  const target = path.startsWith('$')
    ? path
    : `${apiPrefix}${path.startsWith('/') ? path.replace(/^\/+/, '') : path}`;
  let part = contentId === undefined ? partHead : `${partHead}Content-ID: ${contentId}${crlf}`;
  part += `${crlf}${operation.method} ${target} HTTP/1.1${crlf}`;
  const json = operation.json !== undefined;
  if (operation.headers !== undefined)
    for (const [name, value] of Object.entries(operation.headers))
      if (!json || name !== 'Content-Type') part += `${name}: ${value}${crlf}`;
  if (json) part += `Content-Type: application/json; type=entry${crlf}`;
  return `${part}${crlf}${json ? JSON.stringify(operation.json) : ''}${crlf}`;
}

/**
 * Build a `multipart/mixed` `$batch` body. Groups given as arrays become change sets (atomic);
 * their parts get Content-IDs 1…n so later parts can reference `$n`.
 */
export function encodeBatch(groups: readonly (BatchOperation | readonly BatchOperation[])[]): {
  contentType: string;
  body: string;
} {
  const boundary = `batch_${randomUUID()}`;
  const delimiter = `--${boundary}${crlf}`;
  // One join at the end: appending part by part builds a tree of strings that is copied flat when
  // the request is sent.
  const pieces: string[] = [];
  for (const group of groups) {
    if (Array.isArray(group)) {
      const changeSet = `changeset_${randomUUID()}`;
      pieces.push(`${delimiter}Content-Type: multipart/mixed; boundary=${changeSet}${crlf}${crlf}`);
      (group as readonly BatchOperation[]).forEach((operation, index) => {
        pieces.push(`--${changeSet}${crlf}`, requestPart(operation, String(index + 1)));
      });
      pieces.push(`--${changeSet}--${crlf}`);
    } else {
      pieces.push(delimiter, requestPart(group as BatchOperation, undefined));
    }
  }
  pieces.push(`--${boundary}--${crlf}`);
  const body = pieces.join('');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body };
}

function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/multipart\/mixed/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

function headerBlock(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function splitParts(text: string, boundary: string): { headers: Record<string, string>; content: string }[] {
  const parts: { headers: Record<string, string>; content: string }[] = [];
  const sections = text.split(`--${boundary}`);
  for (let i = 1; i < sections.length; i++) {
    const section = sections[i] as string;
    if (section.startsWith('--')) break;
    const trimmed = section.replace(/^\r?\n/, '');
    const separator = /\r?\n\r?\n/.exec(trimmed);
    if (!separator) continue;
    parts.push({
      headers: headerBlock(trimmed.slice(0, separator.index)),
      content: trimmed.slice(separator.index + separator[0].length),
    });
  }
  return parts;
}

function parseHttpPart(content: string, contentId: string | undefined): BatchPartResponse {
  const separator = /\r?\n\r?\n/.exec(content);
  const head = separator ? content.slice(0, separator.index) : content;
  const rest = separator ? content.slice(separator.index + separator[0].length).trim() : '';
  const [statusLine = '', ...headerLines] = head.split(/\r?\n/);
  const status = Number(/^HTTP\/1\.1\s+(\d{3})/.exec(statusLine.trim())?.[1] ?? NaN);
  let body: unknown;
  if (rest !== '') {
    try {
      body = JSON.parse(rest);
    } catch {
      body = rest;
    }
  }
  return { status, headers: headerBlock(headerLines.join('\n')), body, contentId };
}

/** Parse a `$batch` response into per-part answers, change-set parts flattened in order. */
export function decodeBatchResponse(contentType: string | undefined, text: string): BatchPartResponse[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) return [];
  const results: BatchPartResponse[] = [];
  for (const part of splitParts(text, boundary)) {
    const nested = boundaryOf(part.headers['content-type']);
    if (nested) {
      for (const inner of splitParts(part.content, nested)) {
        results.push(parseHttpPart(inner.content, inner.headers['content-id']));
      }
    } else {
      results.push(parseHttpPart(part.content, part.headers['content-id']));
    }
  }
  return results;
}
