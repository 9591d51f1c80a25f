import type { ContactFinder } from '../../core/ports/contact-finder.js';
import { dynamicsRecordKey, isDynamicsId } from '../../core/record-key.js';
import type { DynamicsWebApiClient } from './dynamics-web-api-client.js';

export interface DynamicsContactFinderOptions {
  /** @default 'contacts' */
  entitySetName?: string | undefined;
  /** @default 'contactid' */
  primaryIdAttribute?: string | undefined;
  /** @default 'emailaddress1' */
  emailAttribute?: string | undefined;
}

/**
 * The {@link ContactFinder} over the Dataverse Web API: one `GET contacts?$select=contactid&
 * $filter=emailaddress1 eq '…'&$top=N` per search. Only ids are read; nothing is kept.
 */
export class DynamicsContactFinder implements ContactFinder {
  private readonly entitySetName: string;
  private readonly idAttribute: string;
  private readonly emailAttribute: string;

  constructor(
    private readonly client: DynamicsWebApiClient,
    options: DynamicsContactFinderOptions = {},
  ) {
    this.entitySetName = options.entitySetName ?? 'contacts';
    this.idAttribute = options.primaryIdAttribute ?? 'contactid';
    this.emailAttribute = options.emailAttribute ?? 'emailaddress1';
  }

  async findByEmail(email: string, limit: number): Promise<string[]> {
    // OData string literal: a single quote is written twice.
    const literal = email.replaceAll("'", "''");
    const response: { body: { value?: Record<string, unknown>[] } | undefined } = await this.client.request({
      method: 'GET',
      path: this.entitySetName,
      query: {
        $select: this.idAttribute,
        $filter: `${this.emailAttribute} eq '${literal}'`,
        $top: String(Math.max(1, Math.min(limit, 50))),
      },
      table: this.entitySetName,
    });
    return (response.body?.value ?? [])
      .map((row) => row[this.idAttribute])
      .filter((id): id is string => typeof id === 'string' && isDynamicsId(id))
      .map(dynamicsRecordKey);
  }
}
