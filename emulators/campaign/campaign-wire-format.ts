/**
 * Wire details shared by the Campaign emulator's routes: date formats and the error bodies the
 * real service and its gateway return (campaign-api.md §2.3, §2.8).
 */

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD HH:MM:SS.mmmZ`, the date-time format of ACS JSON payloads. */
export function formatCampaignDateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}Z`
  );
}

/** Parse the ACS date-time format (and ISO 8601, which clients may send); NaN when invalid. */
export function parseCampaignDateTime(value: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?$/.exec(value);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s, ms] = match;
  return Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number((ms ?? '0').padEnd(3, '0')),
  );
}

/** True for `YYYY-MM-DD` naming a real calendar day. */
export function isCampaignDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const d = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return d.toISOString().slice(0, 10) === value;
}

/** How application errors are wrapped (the real envelope is undocumented: campaign-api.md §7 q3). */
export const errorEnvelopes = ['code-message', 'plain-text'] as const;
export type ErrorEnvelope = (typeof errorEnvelopes)[number];

/** An error the emulator answers with; routes turn it into a response. */
export class CampaignApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const rst = 'RST-360011 An error has occurred - please contact your administrator.';

/** Texts of the documented application errors (campaign-api.md §2.8). */
export const campaignErrors = {
  notFound(label: string, schema: string, key: string): CampaignApiError {
    return new CampaignApiError(
      404,
      `${rst} Unable to find document with path '${label}' from key '${key}' (document with schema '${schema}' and name '${key}')`,
    );
  },
  malformedPKey(pkey: string, label: string, schema: string): CampaignApiError {
    const raw = pkey.replace(/^@/, '');
    return new CampaignApiError(
      500,
      `'${raw}' attribute unknown (see definition of '${label} (${schema})' schema). XTK-170036 Unable to parse expression '@id = @${raw}'.`,
    );
  },
  /**
   * A key value on a URL when the resource's identification key is not declared: modelled on the
   * documented malformed-PKey answer (the facts do not show this case; our best guess).
   */
  undeclaredKey(segment: string, label: string, schema: string): CampaignApiError {
    return new CampaignApiError(
      500,
      `${rst} '${segment}' attribute unknown (see definition of '${label} (${schema})' schema). XTK-170036 Unable to parse expression '${segment}'.`,
    );
  },
  duplicateKey(label: string, constraint: string, column: string, value: string): CampaignApiError {
    return new CampaignApiError(
      500,
      `A '${label}' with the same key '${value}' already exists. PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique constraint "${constraint}" DETAIL:  Key (${column})=(${value}) already exists.`,
    );
  },
  valueTooLong(length: number): CampaignApiError {
    return new CampaignApiError(
      500,
      `${rst} PGS-220000 PostgreSQL error: ERROR:  value too long for type character varying(${length})`,
    );
  },
  invalidEnum(value: string, schema: string, field: string): CampaignApiError {
    return new CampaignApiError(
      500,
      `${rst} The value '${value}' is not valid for the '${schema}:${field}' enumeration of the '@${field}' field`,
    );
  },
  invalidValue(field: string, type: string): CampaignApiError {
    return new CampaignApiError(500, `${rst} The value of the '${field}' property is not a valid '${type}'`);
  },
  dataPolicy(field: string, policy: string): CampaignApiError {
    return new CampaignApiError(
      500,
      `${rst} The value of the '${field}' property does not follow the '${policy}' data policy`,
    );
  },
  unknownProperty(property: string, resource: string): CampaignApiError {
    return new CampaignApiError(
      500,
      `${rst} The '${property}' property is not valid for the '${resource}' resource`,
    );
  },
  readOnly(property: string): CampaignApiError {
    return new CampaignApiError(500, `${rst} Cannot update the '${property}' property that is read-only`);
  },
  keyChange(resource: string, from: string, to: string): CampaignApiError {
    return new CampaignApiError(
      500,
      `${rst} RST-360012 Inconsistent operation on resource '${resource}' – Cannot update key '${from}' to '${to}'.`,
    );
  },
  unsupportedEndpoint(path: string): CampaignApiError {
    return new CampaignApiError(404, `${rst} Unsupported endpoint. (endpoint=${path})`);
  },
  badRequest(detail: string): CampaignApiError {
    return new CampaignApiError(400, `${rst} ${detail}`);
  },
  generic(): CampaignApiError {
    return new CampaignApiError(500, rst);
  },
  /**
   * A refused External signal. The text around `reason` is the documented answer to an undeclared
   * parameter (triggering-a-signal-activity); its status is not documented (500 like the other
   * RST/XTK errors, configurable), nor are the reasons of the other refusals (ours).
   */
  signalRefused(reason: string, status: number): CampaignApiError {
    const expression = 'HandleTrigger(@name, $(source), $({parameters}))';
    return new CampaignApiError(
      status,
      `${rst}\n${reason}\nXTK-170006 Unable to parse expression '${expression}'.\n` +
        `RST-360000 Error while assessing '${expression}' expression ('xtk:workflow:execution/activities/signal/trigger' resource)`,
    );
  },
} as const;

/** The gateway's answer to a missing, unknown, expired or revoked token (or a wrong API key). */
export const invalidTokenBody = { error_code: '401013', message: 'Oauth token is not valid' } as const;

/** The gateway's answer to an unknown organization or a bad URI. */
export const oopsBody = {
  code: 500,
  message: 'Oops. Something went wrong. Check your URI and try again.',
} as const;

/** Body of an application error in the chosen envelope. */
export function errorBody(error: CampaignApiError, envelope: ErrorEnvelope): string {
  return envelope === 'plain-text'
    ? JSON.stringify(error.message)
    : JSON.stringify({ code: error.status, message: error.message });
}
