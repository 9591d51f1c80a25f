import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../../src/core/errors.js';
import { signalErrorFromAnswer } from '../../../src/connectors/campaign/campaign-workflows.js';

const expression = 'HandleTrigger(@name, $(source), $({parameters}))';
const answer = (status: number, reason: string) => ({
  status,
  headers: {},
  retryAfterMs: undefined,
  text: JSON.stringify({
    code: status,
    message:
      `RST-360011 An error has occurred - please contact your administrator.\n${reason}\n` +
      `XTK-170006 Unable to parse expression '${expression}'.\n` +
      `RST-360000 Error while assessing '${expression}' expression ('xtk:workflow:execution/activities/signal/trigger' resource)`,
  }),
});

describe('signalErrorFromAnswer', () => {
  it('reads the documented undeclared-parameter text as CAMPAIGN_SIGNAL_PARAMETERS, naming the parameter', () => {
    const error = signalErrorFromAnswer(
      answer(500, "'contentURL' parameter isn't defined in signal activity."),
      'POST signal',
    );
    expect(error.code).toBe('CAMPAIGN_SIGNAL_PARAMETERS');
    expect(error.message).toContain('(parameter contentURL)');
    expect(error.retryable).toBe(false);
  });

  it('tells a refusal for timing or state from one for parameters, although the expression names parameters', () => {
    const tooSoon = signalErrorFromAnswer(
      answer(500, "The signal activity 'signal1' was triggered less than 10 minutes ago."),
      'x',
    );
    expect(tooSoon).toBeInstanceOf(RateLimitedError);
    expect(tooSoon.code).toBe('CAMPAIGN_SIGNAL_TOO_SOON');
    expect(
      signalErrorFromAnswer(
        answer(500, "The workflow 'W' is stopped: a signal needs a started workflow."),
        'x',
      ).code,
    ).toBe('CAMPAIGN_WORKFLOW_NOT_STARTED');
    expect(signalErrorFromAnswer(answer(500, 'Something else went wrong.'), 'x').code).toBe(
      'CAMPAIGN_REJECTED',
    );
  });

  it('maps gateway answers as any Campaign call does', () => {
    expect(
      signalErrorFromAnswer(
        { status: 404, headers: {}, retryAfterMs: undefined, text: '{"code":404,"message":"x"}' },
        'x',
      ).code,
    ).toBe('CAMPAIGN_NOT_FOUND');
    expect(
      signalErrorFromAnswer(
        {
          status: 401,
          headers: {},
          retryAfterMs: undefined,
          text: '{"error_code":"401013","message":"Oauth token is not valid"}',
        },
        'x',
      ).code,
    ).toBe('CAMPAIGN_AUTH');
  });
});
