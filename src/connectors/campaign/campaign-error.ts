import { ConnectorError, RateLimitedError } from '../../core/errors.js';
import type { AdobeAnswer } from '../adobe/adobe-api-caller.js';
import { parseAdobeErrorBody } from '../adobe/adobe-error-body.js';
import type { HttpAnswer } from '../adobe/adobe-http-transport.js';

/** A duplicate identification key, with the constraint and column Campaign named. */
export class CampaignDuplicateKeyError extends ConnectorError {
  constructor(
    message: string,
    readonly constraint: string | null,
    readonly column: string | null,
  ) {
    super('campaign', 'CAMPAIGN_DUPLICATE_KEY', message, { status: 500 });
  }
}

/** The boilerplate Campaign puts before every application error; the codes are listed separately. */
const boilerplate = /RST-360011 An error has occurred - please contact your administrator\.?\s*/g;
/** Quoted names Campaign uses in its messages: `the 'email' property`, `the '@gender' field`, `resource 'cusOrder'`. */
const quotedName =
  /(\bthe\s+'[@\w:.-]{1,100}'\s+(?:property|field|enumeration|resource|schema)\b)|(\b(?:resource|schema|type|property|field)\s+'[@\w:.-]{1,100}')/g;
/** From the first remaining quote to the last: a value may itself hold quotes (`O'Brien`). */
const quotedText = /'[\s\S]*'/;
const keyValue = /(Key \([^)]*\)=\()[^)]*\)/g;
const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/**
 * Campaign's own reason for refusing a record, without personal values (I11). Campaign quotes both
 * names and values in single quotes (`The value 'x' is not valid for the 'nms:recipient:gender'
 * enumeration of the '@gender' field`): quoted text stays only where the phrase says it is a name
 * (property, field, enumeration, resource, schema); everything from the first other quote to the
 * last (a value may hold quotes itself), an unpaired quote to the end, the value of a duplicate
 * `Key (col)=(value)`, and anything shaped like an e-mail address become `…`.
 */
export function redactCampaignMessage(message: string): string {
  const names: string[] = [];
  const kept = message
    .replace(boilerplate, '')
    .replace(quotedName, (phrase) => {
      names.push(phrase);
      return `\uE000${names.length - 1}\uE000`;
    })
    .replace(quotedText, '\uE001')
    .replace(/'.*$/s, "'…")
    .replace('\uE001', "'…'")
    .replace(keyValue, '$1…)')
    .replace(email, '…')
    .replace(/\uE000(\d+)\uE000/g, (_, index: string) => names[Number(index)] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  return kept.length > 400 ? `${kept.slice(0, 400)}…` : kept;
}

/** Constraint and column of a PGS-220000 duplicate-key message (no key value). */
export function parseDuplicateKey(
  message: string,
): { constraint: string | null; column: string | null } | null {
  if (!/PGS-220000/.test(message) || !/duplicate key/i.test(message)) return null;
  return {
    constraint: /unique constraint "([^"]+)"/.exec(message)?.[1] ?? null,
    column: /Key \(([^)]+)\)=/.exec(message)?.[1] ?? null,
  };
}

/** A 500 whose body carries a Campaign application error code rather than a server fault. */
export function isCampaignApplicationError(answer: HttpAnswer): boolean {
  return answer.status === 500 && /\b(RST|XTK|PGS)-\d{4,}/.test(answer.text);
}

/**
 * The typed error for a non-2xx Campaign answer. `what` names the call (`PATCH cusOrder @…`);
 * `hiddenPossible` says a 404 may be a hidden child (custom-resource writes).
 */
export function campaignErrorFromAnswer(
  answer: AdobeAnswer,
  what: string,
  hiddenPossible: boolean,
): ConnectorError {
  const body = parseAdobeErrorBody(answer.text);
  const codes =
    body.appCodes.length > 0
      ? ` (${body.appCodes.join(', ')})`
      : body.errorCode
        ? ` (${body.errorCode})`
        : '';
  const base = `Campaign ${what} answered HTTP ${answer.status}${codes}`;
  const status = answer.status;
  if (status === 429) {
    const { retryAfterMs } = answer;
    return new RateLimitedError('campaign', `${base}: too many calls`, {
      code: 'CAMPAIGN_RATE_LIMITED',
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 401 || status === 403)
    return new ConnectorError(
      'campaign',
      'CAMPAIGN_AUTH',
      `${base}: the credential was refused; check client id, secret and product profile`,
      { status },
    );
  if (status === 404)
    return hiddenPossible
      ? new ConnectorError(
          'campaign',
          'CAMPAIGN_HIDDEN_OR_MISSING',
          `${base}: the record is missing or hidden (its 1-cardinality parent is absent)`,
          { status },
        )
      : new ConnectorError('campaign', 'CAMPAIGN_NOT_FOUND', `${base}: not found`, { status });
  const duplicate = body.message === null ? null : parseDuplicateKey(body.message);
  if (duplicate)
    return new CampaignDuplicateKeyError(
      `${base}: duplicate key on ${duplicate.constraint ?? 'a unique constraint'}${duplicate.column ? ` (column ${duplicate.column})` : ''}`,
      duplicate.constraint,
      duplicate.column,
    );
  if (status === 500 && body.message?.startsWith('Oops'))
    return new ConnectorError(
      'campaign',
      'CAMPAIGN_BAD_URI',
      `${base}: the gateway cannot route this URL; check the organization in campaign.url`,
      { status },
    );
  if (status >= 500 && body.appCodes.length === 0)
    return new ConnectorError('campaign', `CAMPAIGN_HTTP_${status}`, `${base}: server error`, {
      status,
    });
  const reason = body.message === null ? '' : redactCampaignMessage(body.message);
  return new ConnectorError(
    'campaign',
    'CAMPAIGN_REJECTED',
    `${base}: request refused${reason === '' ? '' : `: ${reason}`}`,
    { status },
  );
}
