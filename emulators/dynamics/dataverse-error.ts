/**
 * An error the emulated service answers with: HTTP status plus the Web API error body
 * `{ "error": { "code": "0x…", "message": "…" } }`. Thrown inside handlers and the data store,
 * translated to a response at one place.
 */
export class DataverseError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'DataverseError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Platform error codes used by the emulator (hex, as the Web API returns them). */
export const dataverseErrorCodes = {
  /** ObjectDoesNotExist: "<entity> With Id = <id> Does Not Exist". */
  notFound: '0x80040217',
  /** ConcurrencyVersionMismatch: If-Match etag differs. */
  versionMismatch: '0x80060882',
  /** DuplicateRecord: a create for an id that exists. */
  duplicateRecord: '0x80040237',
  /** DuplicateRecordEntityKey: a write would repeat an alternate key's values (our best guess). */
  duplicateEntityKey: '0x80060892',
  /** A validation error occurred (string too long, option out of range). */
  validation: '0x80044331',
  /** Payload could not be read (wrong JSON type for a column). */
  payload: '0x80048d19',
  /** Could not find a property named '<x>' on type '<y>'. */
  propertyNotFound: '0x80060888',
  /** Generic invalid argument; our choice for undocumented query-option refusals. */
  invalidArgument: '0x80040203',
  /** ExpiredVersionStamp: delta token older than the retention period. */
  expiredVersionStamp: '0x80044352',
  /** ChangeTrackingNotEnabledForEntity: "Entity <x> isn't enabled for change tracking." */
  changeTrackingNotEnabled: '0x80072491',
  /** Service protection: number of requests. */
  throttleRequests: '0x80072322',
  /** Service protection: combined execution time. */
  throttleExecutionTime: '0x80072321',
  /** Service protection: concurrent requests. */
  throttleConcurrency: '0x80072326',
  /** BadAuthTicket: missing, malformed or revoked token. */
  badAuthTicket: '0x8004A102',
  /** ExpiredAuthTicket: the token's lifetime has passed. */
  expiredAuthTicket: '0x8004A101',
  /** PrivilegeDenied: the caller's security role lacks the privilege (e.g. prvReadContact). */
  privilegeMissing: '0x80040220',
  /** Unexpected server error (used for injected 5xx). */
  unexpected: '0x80040216',
} as const;

export function notFoundError(logicalName: string, id: string): DataverseError {
  return new DataverseError(
    404,
    dataverseErrorCodes.notFound,
    `${logicalName} With Id = ${id} Does Not Exist`,
  );
}

/** An alternate key that names no row (message as Dataverse words it; status and code: 404, ObjectDoesNotExist). */
export function alternateKeyNotFound(data: { schema: { logicalName: string } }): DataverseError {
  return new DataverseError(
    404,
    dataverseErrorCodes.notFound,
    `A record with the specified key values does not exist in ${data.schema.logicalName} entity`,
  );
}

/**
 * Key properties in a URL that match no alternate key of the table (use-alternate-key-reference-record
 * documents the message; status and code are our choice).
 */
export function invalidKeyError(logicalName: string): DataverseError {
  return new DataverseError(
    400,
    dataverseErrorCodes.propertyNotFound,
    `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${logicalName}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.${logicalName}'.`,
  );
}

export function propertyNotFoundError(property: string, logicalName: string): DataverseError {
  return new DataverseError(
    400,
    dataverseErrorCodes.propertyNotFound,
    `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${logicalName}'.`,
  );
}

export function badRequest(
  message: string,
  code: string = dataverseErrorCodes.invalidArgument,
): DataverseError {
  return new DataverseError(400, code, message);
}
