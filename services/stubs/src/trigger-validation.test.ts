import { describe, expect, it } from 'vitest';
import { PlatformError } from '@faas/errors';
import { TriggerConfigSchema, create, type MessageInitShape } from '@faas/protocol';
import { normaliseTrigger } from './trigger-validation.js';

const trigger = (fields: MessageInitShape<typeof TriggerConfigSchema>) => create(TriggerConfigSchema, { name: 'orders', functionName: 'echo', ...fields });

function refusal(fields: MessageInitShape<typeof TriggerConfigSchema>): string {
  try {
    normaliseTrigger(trigger(fields));
  } catch (error) {
    if (error instanceof PlatformError && error.code === 'invalid_trigger_config') return error.message;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(fields)}`);
}

describe('normaliseTrigger', () => {
  it('keeps a NATS subject with wildcards and drops the cron fields', () => {
    const kept = normaliseTrigger(trigger({ type: 'nats', subject: 'orders.*.created', schedule: '* * * * *' }));
    expect(kept).toMatchObject({ type: 'nats', subject: 'orders.*.created', schedule: '' });
    expect(normaliseTrigger(trigger({ type: 'nats', subject: 'orders.>' })).subject).toBe('orders.>');
  });

  it('refuses subjects the platform or NATS own, and malformed ones', () => {
    expect(refusal({ type: 'nats', subject: 'faas.invoke.echo' })).toMatch(/reserved/);
    expect(refusal({ type: 'nats', subject: '$JS.API.INFO' })).toMatch(/reserved/);
    expect(refusal({ type: 'nats', subject: 'a.>.b' })).toMatch(/last token/);
    expect(refusal({ type: 'nats', subject: 'a..b' })).toMatch(/invalid token/);
    expect(refusal({ type: 'nats', subject: '' })).toMatch(/required/);
  });

  it('takes five cron fields, a time zone and a JSON event', () => {
    const kept = normaliseTrigger(trigger({ type: 'cron', schedule: ' */5  * * * * ', timezone: 'Europe/Paris', event: '{"tick":true}' }));
    expect(kept).toMatchObject({ schedule: '*/5 * * * *', timezone: 'Europe/Paris', event: '{"tick":true}', subject: '' });
    expect(normaliseTrigger(trigger({ type: 'cron', schedule: '0 * * * *' }))).toMatchObject({ timezone: 'UTC', event: '{}' });
  });

  it('refuses bad schedules, zones, events, types and names', () => {
    expect(refusal({ type: 'cron', schedule: '* * * * * *' })).toMatch(/5 fields/);
    expect(refusal({ type: 'cron', schedule: '61 * * * *' })).toMatch(/schedule/);
    expect(refusal({ type: 'cron', schedule: '* * * * *', timezone: 'Mars/Olympus' })).toMatch(/IANA/);
    expect(refusal({ type: 'cron', schedule: '* * * * *', event: '{nope' })).toMatch(/JSON/);
    expect(refusal({ type: 'webhook' })).toMatch(/type/);
    expect(refusal({ type: 'nats', subject: 'x', name: 'Bad Name' })).toMatch(/trigger name/);
    expect(refusal({ type: 'nats', subject: 'x', functionName: '' })).toMatch(/function/);
  });

  it('keeps an HTTP trigger\'s methods (upper case, sorted), path pattern, host and CORS', () => {
    const kept = normaliseTrigger(trigger({ type: 'http', methods: ['post', 'GET', 'get'], path: '/api/users/:id/*', host: 'API.example.com', cors: { allowOrigins: ['https://app.example'], allowMethods: ['put'] }, subject: 'x' }));
    expect(kept).toMatchObject({ type: 'http', methods: ['GET', 'POST'], path: '/api/users/:id/*', host: 'api.example.com', subject: '', cors: { allowMethods: ['PUT'] } });
  });

  it('refuses bad HTTP paths, hosts, methods and CORS with the reason', () => {
    expect(refusal({ type: 'http', path: 'api' })).toMatch(/must start with "\/"/);
    expect(refusal({ type: 'http', path: '/system/functions' })).toMatch(/platform's own routes/);
    expect(refusal({ type: 'http', path: '/a/*/b' })).toMatch(/"\*" only as its last segment/);
    expect(refusal({ type: 'http', path: '/a/:id/:id' })).toMatch(/twice/);
    expect(refusal({ type: 'http', path: '/a/:1x' })).toMatch(/invalid parameter/);
    expect(refusal({ type: 'http', path: '/a', methods: ['BREW'] })).toMatch(/methods must be among/);
    expect(refusal({ type: 'http', path: '/a', host: 'http://x.example' })).toMatch(/host name/);
    expect(refusal({ type: 'http', path: '/a', cors: { allowOrigins: [] } })).toMatch(/allowOrigins/);
    expect(refusal({ type: 'http', path: '/a', cors: { allowOrigins: ['*'], allowCredentials: true } })).toMatch(/credentials/);
  });
});
