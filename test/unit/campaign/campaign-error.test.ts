import { describe, expect, it } from 'vitest';
import {
  CampaignDuplicateKeyError,
  campaignErrorFromAnswer,
  isCampaignApplicationError,
  redactCampaignMessage,
} from '../../../src/connectors/campaign/campaign-error.js';
import { RateLimitedError } from '../../../src/core/errors.js';

const duplicate =
  "A 'Profile' with the same key 'c-1' already exists. PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique constraint \"nmsrecipient_externalid\" DETAIL:  Key (sexternalid)=(c-1) already exists.";

/** An answer as the Adobe API caller hands it over (its Retry-After already read). */
function answer(status: number, body: unknown, retryAfterMs?: number) {
  return {
    status,
    headers: retryAfterMs === undefined ? {} : { 'retry-after': String(retryAfterMs / 1000) },
    text: typeof body === 'string' ? body : JSON.stringify(body),
    retryAfterMs,
  };
}

describe('campaignErrorFromAnswer', () => {
  it('turns the PGS duplicate-key text into CampaignDuplicateKeyError, whatever the envelope', () => {
    for (const body of [{ code: 500, message: duplicate }, duplicate]) {
      const error = campaignErrorFromAnswer(
        answer(500, typeof body === 'string' ? JSON.stringify(body) : body),
        'POST profile',
        false,
      );
      expect(error).toBeInstanceOf(CampaignDuplicateKeyError);
      expect(error).toMatchObject({
        code: 'CAMPAIGN_DUPLICATE_KEY',
        constraint: 'nmsrecipient_externalid',
        column: 'sexternalid',
      });
      expect(error.message).not.toContain('c-1');
    }
  });

  it('tells 404 on a custom-resource write (maybe hidden) from a plain not-found', () => {
    const body = {
      code: 404,
      message:
        'RST-360011 An error has occurred - please contact your administrator. Unable to find document',
    };
    expect(campaignErrorFromAnswer(answer(404, body), 'PATCH cusOrder o-1', true).code).toBe(
      'CAMPAIGN_HIDDEN_OR_MISSING',
    );
    expect(campaignErrorFromAnswer(answer(404, body), 'PATCH profile @x', false).code).toBe(
      'CAMPAIGN_NOT_FOUND',
    );
  });

  it('keeps validation 500s non-retryable and gateway 5xx retryable', () => {
    const rejected = campaignErrorFromAnswer(
      answer(500, { code: 500, message: "RST-360011 The value 'x' is not valid" }),
      'POST profile',
      false,
    );
    expect(rejected).toMatchObject({ code: 'CAMPAIGN_REJECTED', retryable: false });
    expect(rejected.message).not.toContain("'x'");
    expect(
      campaignErrorFromAnswer(answer(502, { code: 502, message: 'Bad gateway' }), 'GET profile', false),
    ).toMatchObject({
      code: 'CAMPAIGN_HTTP_502',
      retryable: true,
    });
    expect(
      campaignErrorFromAnswer(
        answer(500, { code: 500, message: 'Oops. Something went wrong.' }),
        'GET profile',
        false,
      ).code,
    ).toBe('CAMPAIGN_BAD_URI');
    expect(
      campaignErrorFromAnswer(
        answer(403, { error_code: '403023', message: 'Profile is not valid' }),
        'GET profile',
        false,
      ).code,
    ).toBe('CAMPAIGN_AUTH');
  });

  it("keeps Campaign's reason in a rejection, naming the field, without the value", () => {
    const rejected = campaignErrorFromAnswer(
      answer(500, {
        code: 500,
        message:
          "RST-360011 An error has occurred - please contact your administrator. The value 'martian' is not valid for the 'nms:recipient:gender' enumeration of the '@gender' field",
      }),
      'POST profile',
      false,
    );
    expect(rejected.message).toBe(
      "Campaign POST profile answered HTTP 500 (RST-360011): request refused: The value '…' is not valid for the 'nms:recipient:gender' enumeration of the '@gender' field",
    );
  });

  it('maps 429 to RateLimitedError with the Retry-After it carries', () => {
    const plain = campaignErrorFromAnswer(answer(429, { code: 429 }), 'GET profile', false);
    expect(plain).toBeInstanceOf(RateLimitedError);
    expect((plain as RateLimitedError).retryAfterMs).toBeUndefined();
    const timed = campaignErrorFromAnswer(answer(429, {}, 3000), 'GET profile', false);
    expect((timed as RateLimitedError).retryAfterMs).toBe(3000);
  });
});

describe('redactCampaignMessage', () => {
  it.each([
    [
      "The value of the 'email' property does not follow the 'email' data policy",
      "The value of the 'email' property does not follow the '…' data policy",
    ],
    // A value holding quotes: everything from the first value quote to the last goes.
    [
      "The value 'O'Brien' is not valid for the 'nms:recipient:x' enumeration of the '@x' field",
      "The value '…' is not valid for the 'nms:recipient:x' enumeration of the '@x' field",
    ],
    // An unpaired quote hides the rest of the message.
    ["The value 'Ann is not valid", "The value '…"],
    [
      duplicate,
      'A \'…\' already exists. PGS-220000 PostgreSQL error: ERROR: duplicate key value violates unique constraint "nmsrecipient_externalid" DETAIL: Key (sexternalid)=(…) already exists.',
    ],
    ['mail ann@example.org refused', 'mail … refused'],
  ])('%s', (message, expected) => {
    expect(redactCampaignMessage(message)).toBe(expected);
  });
});

describe('isCampaignApplicationError', () => {
  it('tells application errors reported as 500 from server faults', () => {
    expect(isCampaignApplicationError(answer(500, { message: duplicate }))).toBe(true);
    expect(isCampaignApplicationError(answer(500, { message: 'RST-360011 An error has occurred' }))).toBe(
      true,
    );
    expect(isCampaignApplicationError(answer(500, { message: 'Internal error' }))).toBe(false);
    expect(isCampaignApplicationError(answer(400, { message: duplicate }))).toBe(false);
  });
});
