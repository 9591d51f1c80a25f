import { describe, expect, it } from 'vitest';
import { decodeBatchResponse, encodeBatch } from '../../../src/connectors/dynamics/odata-batch-codec.js';

describe('OData $batch codec', () => {
  it('encodes change sets with Content-IDs and single requests', () => {
    const { contentType, body } = encodeBatch([
      [
        { method: 'POST', path: 'contacts', json: { lastname: 'A' } },
        { method: 'PATCH', path: '$1', json: { firstname: 'B' } },
      ],
      { method: 'GET', path: 'WhoAmI' },
    ]);
    const boundary = /boundary=(.+)$/.exec(contentType)![1]!;
    expect(body.startsWith(`--${boundary}\r\nContent-Type: multipart/mixed; boundary=changeset_`)).toBe(true);
    expect(body).toContain(
      'Content-ID: 1\r\n\r\nPOST /api/data/v9.2/contacts HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n{"lastname":"A"}',
    );
    expect(body).toContain('Content-ID: 2\r\n\r\nPATCH $1 HTTP/1.1');
    expect(body).toContain('GET /api/data/v9.2/WhoAmI HTTP/1.1');
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  it('encodes each part exactly: its headers, then the JSON content type (which replaces its own), then the body', () => {
    const { contentType, body } = encodeBatch([
      {
        method: 'PATCH',
        path: '/contacts(1)',
        headers: { 'If-Match': '*', 'Content-Type': 'text/plain' },
        json: { a: 1 },
      },
      { method: 'DELETE', path: 'contacts(2)', headers: { 'If-Match': 'W/"7"' } },
    ]);
    const boundary = /boundary=(.+)$/.exec(contentType)![1]!;
    expect(body).toBe(
      `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n` +
        'PATCH /api/data/v9.2/contacts(1) HTTP/1.1\r\nIf-Match: *\r\nContent-Type: application/json; type=entry\r\n\r\n{"a":1}\r\n' +
        `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n` +
        'DELETE /api/data/v9.2/contacts(2) HTTP/1.1\r\nIf-Match: W/"7"\r\n\r\n\r\n' +
        `--${boundary}--\r\n`,
    );
  });

  it('decodes the documented response (change set then GET), LF or CRLF', () => {
    const documented = [
      '--batchresponse_f27ef42d',
      'Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff',
      '',
      '--changesetresponse_64cc3fff',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 1',
      '',
      'HTTP/1.1 204 No Content',
      'OData-Version: 4.0',
      'Location: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)',
      'OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)',
      '',
      '',
      '--changesetresponse_64cc3fff--',
      '--batchresponse_f27ef42d',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
      'HTTP/1.1 400 Bad Request',
      'Content-Type: application/json; odata.metadata=minimal',
      '',
      '{"error":{"code":"0x80044331","message":"A validation error occurred."}}',
      '--batchresponse_f27ef42d--',
      '',
    ];
    for (const eol of ['\n', '\r\n']) {
      const parts = decodeBatchResponse(
        'multipart/mixed; boundary=batchresponse_f27ef42d',
        documented.join(eol),
      );
      expect(parts.map((p) => [p.status, p.contentId])).toEqual([
        [204, '1'],
        [400, undefined],
      ]);
      expect(parts[0]!.headers['odata-entityid']).toMatch(/tasks\(e73ffc82/);
      expect(parts[1]!.body).toEqual({
        error: { code: '0x80044331', message: 'A validation error occurred.' },
      });
    }
  });
});
