import { describe, expect, it } from 'vitest';
import { isInvalidTokenAnswer, parseAdobeErrorBody } from '../../../src/connectors/adobe/adobe-error-body.js';

const duplicate =
  "A 'Profile' with the same key 'c-1' already exists. PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique constraint \"nmsrecipient_externalid\" DETAIL:  Key (sexternalid)=(c-1) already exists.";

function answer(status: number, body: unknown) {
  return { status, headers: {}, text: typeof body === 'string' ? body : JSON.stringify(body) };
}

describe('parseAdobeErrorBody', () => {
  it('reads every envelope: {code,message}, {error_code,message}, a JSON string, plain text', () => {
    expect(
      parseAdobeErrorBody(JSON.stringify({ code: 404, message: 'RST-360011 An error has occurred' })),
    ).toEqual({
      message: 'RST-360011 An error has occurred',
      errorCode: null,
      appCodes: ['RST-360011'],
    });
    expect(
      parseAdobeErrorBody('{"error_code":"401013","message":"Oauth token is not valid"}').errorCode,
    ).toBe('401013');
    expect(parseAdobeErrorBody(JSON.stringify(duplicate)).appCodes).toEqual(['PGS-220000']);
    expect(parseAdobeErrorBody('RST-360011 XTK-170036 boom').appCodes).toEqual(['RST-360011', 'XTK-170036']);
    expect(parseAdobeErrorBody('').message).toBeNull();
  });
});

describe('isInvalidTokenAnswer', () => {
  it('recognises 401013, the one 401 worth a fresh token and a replay', () => {
    expect(
      isInvalidTokenAnswer(answer(401, { error_code: '401013', message: 'Oauth token is not valid' })),
    ).toBe(true);
    expect(isInvalidTokenAnswer(answer(401, { error_code: '401000' }))).toBe(false);
    expect(isInvalidTokenAnswer(answer(403, { error_code: '401013' }))).toBe(false);
  });
});
