import type { Clock } from '../../core/clock.js';
import { ConnectorError } from '../../core/errors.js';
import type { CallMetrics } from '../../core/ports/call-metrics.js';
import type { AdobeAnswer, AdobeApiCaller } from '../adobe/adobe-api-caller.js';
import type { CallKind } from '../adobe/adobe-call-gate.js';
import { openAdobeConnection, type AdobeConnection } from '../adobe/adobe-connection.js';
import type { ImsTokenProvider } from '../adobe/ims-token-provider.js';
import type { CallBudget } from './call-budget.js';
import { campaignErrorFromAnswer, isCampaignApplicationError } from './campaign-error.js';
import type { CampaignCallOptions, CampaignRecord } from './campaign-types.js';
import { isRecord } from '../../core/json.js';

/** How to reach one Campaign organization. */
export interface CampaignApiOptions {
  /** `https://mc.adobe.io/<organization>` (config `campaign.url`). */
  url: string;
  /** IMS base. @default 'https://ims-na1.adobelogin.com' */
  imsUrl?: string;
  clientId: string;
  clientSecret: string;
  /** PEM of a CA trusted for these connections only (config `caFile`, read by the loader). */
  caCert?: string | undefined;
  /** Scopes of the OAuth Server-to-Server credential. */
  scope?: string | undefined;
  /** Whole-request timeout. @default 30_000 */
  timeoutMs?: number;
  /** The shared pacing gate. Required: every call passes it. */
  budget: CallBudget;
  /** Share one token provider between clients of the same credential. @default one of its own */
  tokens?: ImsTokenProvider;
  /** Connections per origin. @default 32 */
  connections?: number;
  /** Per-call counts for `/metrics`. @default none */
  metrics?: CallMetrics | undefined;
  /** Token expiry and `Retry-After` dates. @default systemClock */
  clock?: Clock;
}

/** A path segment of a Campaign URL (PKeys start with `@`, which stays readable). */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%40/g, '@');
}

/** A PKey shortened for messages; key values as they are. */
export function shortRef(ref: string): string {
  return ref.startsWith('@') && ref.length > 14 ? `${ref.slice(0, 12)}…` : ref;
}

/**
 * The Campaign REST API of one organization over the shared Adobe caller: builds URLs under
 * `<url>/campaign`, sends calls through the call budget, and turns answers into parsed bodies or
 * the typed errors of campaign-error.ts. What the calls mean lives in the concern classes over it
 * (records, collections, profiles, metadata, privacy tool).
 */
export class CampaignApi {
  /** `<url>/campaign`, the base of every path. */
  readonly base: string;
  private readonly origin: string;
  private readonly connection: AdobeConnection;
  private readonly caller: AdobeApiCaller;

  constructor(options: CampaignApiOptions) {
    this.base = `${options.url.replace(/\/+$/, '')}/campaign`;
    this.origin = new URL(options.url).origin;
    this.connection = openAdobeConnection({
      target: 'campaign',
      imsUrl: options.imsUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      caCert: options.caCert,
      tokens: options.tokens,
      timeoutMs: options.timeoutMs,
      connections: options.connections,
      gate: options.budget,
      isLoadNeutral: isCampaignApplicationError,
      metrics: options.metrics,
      clock: options.clock,
    });
    this.caller = this.connection.caller;
  }

  /** One call; any HTTP answer comes back (map it with {@link bodyOf} or {@link recordOf}). */
  send(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    kind: CallKind,
    what: string,
    options: CampaignCallOptions,
    body?: unknown,
  ): Promise<AdobeAnswer> {
    return this.caller.call({
      method,
      url,
      kind,
      what,
      lane: options.lane,
      signal: options.signal,
      ...(body === undefined ? {} : { body }),
    });
  }

  /** The parsed body of an expected answer; the typed Campaign error for any other status. */
  bodyOf(answer: AdobeAnswer, what: string, resource: string, expected: number[]): unknown {
    if (!expected.includes(answer.status)) {
      const write = /^(PATCH|DELETE) /.test(what);
      throw campaignErrorFromAnswer(answer, what, write && resource !== 'profile');
    }
    if (answer.text.trim() === '') return null;
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (error) {
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered ${answer.status} with a body that is not JSON`,
        {
          cause: error,
        },
      );
    }
  }

  /** {@link bodyOf} for an answer that must be one record with its PKey. */
  recordOf(answer: AdobeAnswer, what: string, resource: string, expected: number[]): CampaignRecord {
    const body = this.bodyOf(answer, what, resource, expected);
    if (!isRecord(body) || typeof body.PKey !== 'string')
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without a PKey`,
      );
    return body as CampaignRecord;
  }

  /** Campaign's hrefs are followed as given, but only on the configured origin (the token goes with them). */
  checkHref(href: string): string {
    let origin: string;
    try {
      origin = new URL(href).origin;
    } catch {
      origin = '';
    }
    if (origin !== this.origin)
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_UNSAFE_LINK',
        `Campaign returned a link to another origin (${origin || 'invalid URL'}); not followed`,
      );
    return href;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
