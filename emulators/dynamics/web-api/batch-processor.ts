import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { DataverseError, badRequest } from '../dataverse-error.js';
import { parsePrefer } from '../odata/odata-request.js';
import type { DataverseDataStore } from '../store/dataverse-data-store.js';
import type { WebApiHandler } from './web-api-handler.js';
import { apiPathPrefix, errorResponse, type WebApiRequest, type WebApiResponse } from './web-api-types.js';

/** One MIME part: its headers (lower-case names) and raw content. */
interface MimePart {
  headers: Record<string, string>;
  content: string;
}

interface InnerRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  contentId: string | undefined;
}

type BatchItem = { kind: 'request'; request: InnerRequest } | { kind: 'changeSet'; requests: InnerRequest[] };

interface ItemResult {
  response: WebApiResponse;
  contentId: string | undefined;
}

/** Thrown inside a change set's transaction to roll it back. */
class ChangeSetAborted extends Error {
  constructor(readonly failure: ItemResult) {
    super('change set aborted');
  }
}

const canonicalHeaders: Record<string, string> = {
  'content-type': 'Content-Type',
  'odata-version': 'OData-Version',
  'odata-entityid': 'OData-EntityId',
  location: 'Location',
  etag: 'ETag',
  'preference-applied': 'Preference-Applied',
};

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/mixed/i.test(contentType.trim())) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

function parseHeaderBlock(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const index = line.indexOf(':');
    if (index <= 0) continue;
    headers[line.slice(0, index).trim().toLowerCase()] = line.slice(index + 1).trim();
  }
  return headers;
}

/** Split a multipart body on its boundary (CRLF or LF line ends, as clients vary). */
function splitMultipart(body: string, boundary: string): MimePart[] {
  const delimiter = `--${boundary}`;
  const parts: MimePart[] = [];
  const sections = body.split(delimiter);
  for (let i = 1; i < sections.length; i++) {
    const section = sections[i] as string;
    if (section.startsWith('--')) break;
    const text = section.replace(/^\r?\n/, '');
    const split = /\r?\n\r?\n/.exec(text);
    if (!split) {
      if (text.trim() === '') continue;
      throw badRequest('A batch part has no header/content separator.');
    }
    parts.push({
      headers: parseHeaderBlock(text.slice(0, split.index)),
      content: text.slice(split.index + split[0].length).replace(/\r?\n$/, ''),
    });
  }
  if (!body.includes(`${delimiter}--`))
    throw badRequest('The batch body is not terminated by its closing boundary.');
  return parts;
}

function parseInnerRequest(part: MimePart): InnerRequest {
  const type = part.headers['content-type'] ?? '';
  if (!/^application\/http/i.test(type))
    throw badRequest(`A batch part must be application/http, not '${type}'.`);
  const split = /\r?\n\r?\n/.exec(part.content);
  const head = split ? part.content.slice(0, split.index) : part.content;
  const body = split ? part.content.slice(split.index + split[0].length) : '';
  const [requestLine = '', ...headerLines] = head.split(/\r?\n/);
  const match = /^(GET|POST|PATCH|PUT|DELETE)\s+(.+?)(?:\s+HTTP\/1\.1)?$/i.exec(requestLine.trim());
  if (!match) throw badRequest(`The batch part request line '${requestLine.slice(0, 80)}' is not valid.`);
  const trimmedBody = body.replace(/\s+$/, '');
  return {
    method: (match[1] as string).toUpperCase(),
    url: match[2] as string,
    headers: parseHeaderBlock(headerLines.join('\n')),
    body: trimmedBody === '' ? undefined : trimmedBody,
    contentId: part.headers['content-id'],
  };
}

/**
 * `POST $batch`: multipart/mixed bodies with optional change sets (atomic, Content-ID
 * references), at most `maxRequests` requests, stop-at-first-error unless
 * `Prefer: odata.continue-on-error`.
 */
export class BatchProcessor {
  constructor(
    private readonly handler: WebApiHandler,
    private readonly store: DataverseDataStore,
    private readonly origin: string,
    private readonly maxRequests: () => number,
  ) {}

  /**
   * Count the requests of a batch body, and the writes among them, without running it (for limits
   * and statistics).
   */
  countRequests(request: { headers: Record<string, string | undefined>; body: string | undefined }): {
    requests: number;
    writes: number;
  } {
    try {
      const inner = this.parse(request.headers['content-type'], request.body ?? '').flatMap((item) =>
        item.kind === 'request' ? [item.request] : item.requests,
      );
      return { requests: inner.length, writes: inner.filter((r) => r.method !== 'GET').length };
    } catch {
      return { requests: 1, writes: 0 };
    }
  }

  private parse(contentType: string | undefined, body: string): BatchItem[] {
    const boundary = boundaryOf(contentType);
    if (!boundary) throw badRequest("A $batch request needs Content-Type 'multipart/mixed' with a boundary.");
    return splitMultipart(body, boundary).map((part): BatchItem => {
      const nested = boundaryOf(part.headers['content-type']);
      if (nested) {
        return { kind: 'changeSet', requests: splitMultipart(part.content, nested).map(parseInnerRequest) };
      }
      return { kind: 'request', request: parseInnerRequest(part) };
    });
  }

  process(request: WebApiRequest): WebApiResponse {
    let items: BatchItem[];
    try {
      items = this.parse(request.headers['content-type'], request.body ?? '');
    } catch (error) {
      if (error instanceof DataverseError) return errorResponse(error);
      throw error;
    }
    const total = items.reduce((n, item) => n + (item.kind === 'request' ? 1 : item.requests.length), 0);
    if (total > this.maxRequests()) {
      return errorResponse(
        badRequest(`The number of requests in a batch cannot exceed ${this.maxRequests()}.`),
      );
    }
    const continueOnError = parsePrefer(request.headers.prefer).continueOnError;
    const boundary = `batchresponse_${randomUUID()}`;
    const chunks: string[] = [];
    let failed = false;
    for (const item of items) {
      if (item.kind === 'request') {
        const result = this.run(item.request, request, new Map());
        chunks.push(`--${boundary}\r\n${this.httpPart(result)}`);
        failed = result.response.status >= 400;
      } else {
        const outcome = this.runChangeSet(item.requests, request);
        if (outcome.ok) {
          const changeBoundary = `changesetresponse_${randomUUID()}`;
          const inner = outcome.results.map((r) => `--${changeBoundary}\r\n${this.httpPart(r)}`).join('');
          chunks.push(
            `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${changeBoundary}\r\n\r\n${inner}--${changeBoundary}--\r\n`,
          );
          failed = false;
        } else {
          chunks.push(`--${boundary}\r\n${this.httpPart(outcome.failure)}`);
          failed = true;
        }
      }
      if (failed && !continueOnError) break;
    }
    chunks.push(`--${boundary}--\r\n`);
    const headers: Record<string, string> = {
      'content-type': `multipart/mixed; boundary=${boundary}`,
      'odata-version': '4.0',
    };
    if (continueOnError) headers['preference-applied'] = 'odata.continue-on-error';
    return { status: failed && !continueOnError ? 400 : 200, headers, body: chunks.join('') };
  }

  private runChangeSet(
    requests: InnerRequest[],
    outer: WebApiRequest,
  ): { ok: true; results: ItemResult[] } | { ok: false; failure: ItemResult } {
    const references = new Map<string, string>();
    const results: ItemResult[] = [];
    try {
      this.store.transaction(() => {
        for (const inner of requests) {
          if (inner.method === 'GET') {
            throw new ChangeSetAborted({
              response: errorResponse(badRequest('GET requests are not allowed in a change set.')),
              contentId: inner.contentId,
            });
          }
          const result = this.run(inner, outer, references);
          if (result.response.status >= 400) throw new ChangeSetAborted(result);
          const entityId = result.response.headers['odata-entityid'];
          if (inner.contentId !== undefined && entityId !== undefined)
            references.set(inner.contentId, entityId);
          results.push(result);
        }
      });
    } catch (error) {
      if (error instanceof ChangeSetAborted) return { ok: false, failure: error.failure };
      throw error;
    }
    return { ok: true, results };
  }

  private resolveReference(value: string, references: Map<string, string>): string {
    const match = /^\$(\w+)(.*)$/s.exec(value);
    if (!match) return value;
    const target = references.get(match[1] as string);
    if (target === undefined) {
      throw badRequest(`Content-ID Reference: '$${match[1]}' does not exist in the batch context.`);
    }
    return `${target}${match[2] ?? ''}`;
  }

  private resolveBody(body: string | undefined, references: Map<string, string>): string | undefined {
    if (body === undefined || !body.includes('"$')) return body;
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return body;
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return body;
    const object = payload as Record<string, unknown>;
    for (const [key, value] of Object.entries(object)) {
      if (key.endsWith('@odata.bind') && typeof value === 'string')
        object[key] = this.resolveReference(value, references);
      if (key === '@odata.id' && typeof value === 'string')
        object[key] = this.resolveReference(value, references);
    }
    return JSON.stringify(object);
  }

  private run(inner: InnerRequest, outer: WebApiRequest, references: Map<string, string>): ItemResult {
    let url: string;
    let body: string | undefined;
    try {
      url = this.resolveReference(inner.url, references);
      body = this.resolveBody(inner.body, references);
    } catch (error) {
      if (error instanceof DataverseError)
        return { response: errorResponse(error), contentId: inner.contentId };
      throw error;
    }
    if (url.startsWith(this.origin)) url = url.slice(this.origin.length);
    else if (/^https?:\/\//i.test(url)) {
      return {
        response: errorResponse(badRequest('A batch part addresses another service.')),
        contentId: inner.contentId,
      };
    }
    if (!url.startsWith('/')) url = `${apiPathPrefix}${url}`;
    const response = this.handler.handle({
      method: inner.method,
      url,
      headers: inner.headers,
      body,
      user: outer.user,
      correlationId: outer.correlationId,
    });
    if (response.headers['odata-entityid'] !== undefined)
      response.headers.location = response.headers['odata-entityid'];
    return { response, contentId: inner.contentId };
  }

  private httpPart(result: ItemResult): string {
    const { response } = result;
    let head = 'Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n';
    if (result.contentId !== undefined) head += `Content-ID: ${result.contentId}\r\n`;
    const reason = STATUS_CODES[response.status] ?? '';
    const lines = [`HTTP/1.1 ${response.status} ${reason}`];
    if (response.status >= 400) lines.push(`REQ_ID: ${randomUUID()}`);
    for (const [name, value] of Object.entries(response.headers)) {
      lines.push(`${canonicalHeaders[name] ?? name}: ${value}`);
    }
    return `${head}\r\n${lines.join('\r\n')}\r\n\r\n${response.body ?? ''}\r\n`;
  }
}
