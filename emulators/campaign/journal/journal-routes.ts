import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CampaignEmulatorContext } from '../campaign-emulator-context.js';
import { invalidTokenBody } from '../campaign-wire-format.js';
import {
  cloudEventTypeOf,
  type CampaignEmailEvent,
  type CampaignEventJournal,
} from './campaign-event-journal.js';

/** Where the journal of the emulator's one event registration is served. */
export interface JournalLocation {
  /** Path of the journaling endpoint, e.g. `/events/organizations/…/integrations/…/<registration id>`. */
  path: string;
  /** CloudEvents `source` of the events (the provider). */
  source: string;
}

/** The CloudEvents 1.0 envelope an event travels in; `data` is Campaign's (assumed) payload. */
export function renderJournalEvent(event: CampaignEmailEvent, source: string): Record<string, unknown> {
  const data: Record<string, unknown> = {
    eventType: event.type,
    profile: event.profile,
    campaign: event.campaign,
    delivery: event.delivery,
    eventDate: new Date(event.occurredAt).toISOString(),
  };
  if (event.bounceType !== undefined) data.bounceType = event.bounceType;
  if (event.trackingUrl !== undefined) data.trackingUrl = event.trackingUrl;
  if (event.mirrorPageUrl !== undefined) data.mirrorPageUrl = event.mirrorPageUrl;
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: cloudEventTypeOf(event),
    datacontenttype: 'application/json',
    time: new Date(event.occurredAt).toISOString(),
    data,
  };
}

function nextLink(path: string, position: string, limit: string | undefined): string {
  const query = new URLSearchParams({ since: position });
  if (limit !== undefined) query.set('limit', limit);
  return `<${path}?${query.toString()}>; rel="next"`;
}

/**
 * Adobe I/O Events' Journaling API for the registration that receives Campaign's e-mail events:
 * `GET <journal>` (oldest retained events), `?since=<position>`, `?latest=true`, `?limit=N`;
 * 200 with `{events:[{position, event}], _page:{last, count}}` and a `Link: <…>; rel="next"`;
 * 204 with `retry-after` and the same `next` link when there is nothing newer; 410 for an expired
 * position. Needs the IMS bearer token, the client id as `x-api-key` and `x-ims-org-id`.
 */
export function registerJournalRoutes(
  app: FastifyInstance,
  context: CampaignEmulatorContext,
  journal: CampaignEventJournal,
  location: JournalLocation,
): void {
  const send = (reply: FastifyReply, status: number, body: unknown) => {
    context.load.recordResponse('GET journal', status);
    return reply
      .status(status)
      .header('content-type', 'application/json;charset=utf-8')
      .send(JSON.stringify(body));
  };
  app.get(location.path, async (request, reply) => {
    const apiKey = request.headers['x-api-key'];
    if (
      !context.tokens.isAuthorized(
        request.headers.authorization,
        typeof apiKey === 'string' ? apiKey : undefined,
      )
    )
      return send(reply, 401, invalidTokenBody);
    if (request.headers['x-ims-org-id'] !== context.imsOrgId)
      return send(reply, 403, { error_code: '403003', message: 'Api Key is invalid for this organization' });
    const query = new URL(request.url, 'http://emulator.invalid').searchParams;
    const since = query.get('since') ?? undefined;
    const limitText = query.get('limit') ?? undefined;
    let limit: number | undefined;
    if (limitText !== undefined) {
      limit = Number(limitText);
      if (!/^\d+$/.test(limitText) || limit < 1)
        return send(reply, 400, {
          error_code: '400',
          message: `limit must be a positive integer, got '${limitText.slice(0, 40)}'`,
        });
    }
    const latestText = query.get('latest');
    if (latestText !== null && latestText !== 'true' && latestText !== 'false')
      return send(reply, 400, { error_code: '400', message: 'latest must be true or false' });
    const answer = journal.read({ since, latest: latestText === 'true', limit });
    switch (answer.kind) {
      case 'invalid':
        return send(reply, 400, { error_code: '400', message: answer.message });
      case 'expired':
        context.load.recordResponse('GET journal', 410);
        return reply
          .status(410)
          .header('content-type', 'text/plain;charset=utf-8')
          .send(`Events at position ${answer.position} have expired.`);
      case 'empty':
        context.load.recordResponse('GET journal', 204);
        return reply
          .status(204)
          .header('retry-after', String(answer.retryAfterSec))
          .header('link', nextLink(location.path, answer.next, limitText))
          .send();
      case 'events':
        reply.header('link', nextLink(location.path, answer.next, limitText));
        return send(reply, 200, {
          events: answer.entries.map((entry) => ({
            position: entry.position,
            event: renderJournalEvent(entry.event, location.source),
          })),
          _page: { last: answer.next, count: answer.entries.length },
        });
    }
  });
}
