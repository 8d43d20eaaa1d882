import { describe, expect, it } from 'vitest';
import { cloudEventFrom } from './cloud-events.js';

const binaryHeaders = { 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-source': '/orders', 'ce-type': 'order.created', 'ce-traceext': 'x' };

describe('cloudEventFrom', () => {
  it('reads binary mode: attributes from ce- headers, the body as the data', () => {
    const event = cloudEventFrom(binaryHeaders, { payload: Buffer.from('{"n":1}'), contentType: 'application/json' })!;
    expect(event.payload.toString()).toBe('{"n":1}');
    expect(event.contentType).toBe('application/json');
    expect(event.attributes).toMatchObject({ id: 'e-1', type: 'order.created', traceext: 'x', datacontenttype: 'application/json' });
  });

  it('reads structured mode: JSON data, base64 data, and text data', () => {
    const json = cloudEventFrom({}, { payload: Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', data: { n: 2 } })), contentType: 'application/cloudevents+json; charset=utf-8' })!;
    expect(JSON.parse(json.payload.toString())).toEqual({ n: 2 });
    expect(json.contentType).toBe('application/json');
    expect(json.attributes).toEqual({ specversion: '1.0', id: '1', source: 's', type: 't' });
    const bytes = cloudEventFrom({}, { payload: Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', data_base64: Buffer.from([1, 2, 255]).toString('base64') })), contentType: 'application/cloudevents+json' })!;
    expect([...bytes.payload]).toEqual([1, 2, 255]);
    expect(bytes.contentType).toBe('application/octet-stream');
    const text = cloudEventFrom({}, { payload: Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', datacontenttype: 'text/plain', data: 'hi' })), contentType: 'application/cloudevents+json' })!;
    expect(text.payload.toString()).toBe('hi');
    expect(text.contentType).toBe('text/plain');
  });

  it('leaves other requests alone', () => {
    expect(cloudEventFrom({}, { payload: Buffer.from('{}'), contentType: 'application/json' })).toBeUndefined();
  });

  it('refuses events missing required attributes, other versions and batches with stable codes', () => {
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as { code: string }).code;
      }
      return 'accepted';
    };
    expect(refused(() => cloudEventFrom({ ...binaryHeaders, 'ce-id': undefined }, { payload: Buffer.alloc(0), contentType: '' }))).toBe('bad_request');
    expect(refused(() => cloudEventFrom({ ...binaryHeaders, 'ce-specversion': '0.3' }, { payload: Buffer.alloc(0), contentType: '' }))).toBe('bad_request');
    expect(refused(() => cloudEventFrom({}, { payload: Buffer.from('[1'), contentType: 'application/cloudevents+json' }))).toBe('bad_request');
    expect(refused(() => cloudEventFrom({}, { payload: Buffer.from('[]'), contentType: 'application/cloudevents-batch+json' }))).toBe('unsupported_media_type');
  });
});
