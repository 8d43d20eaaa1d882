import { describe, expect, it } from 'vitest';
import { headerVariableName, requestEnvironment, stdoutAsResult } from './exec-env.js';

describe('exec request environment (classic watchdog style)', () => {
  it('maps method, path, query and every header to Http_ variables', () => {
    const env = requestEnvironment({
      callId: 'call-7',
      kind: 'http',
      contentType: 'text/plain',
      deadlineMs: 1234,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      http: { method: 'PUT', path: '/a/b', rawQuery: 'x=1&y=2', headers: { 'x-custom-header': 'v1', 'user-agent': 'curl', 'content-type': 'text/plain' } },
    });
    expect(env).toMatchObject({
      Http_Method: 'PUT',
      Http_Path: '/a/b',
      Http_Query: 'x=1&y=2',
      Http_Content_Type: 'text/plain',
      Http_X_Custom_Header: 'v1',
      Http_User_Agent: 'curl',
      FAAS_CALL_ID: 'call-7',
      FAAS_DEADLINE_MS: '1234',
      TRACEPARENT: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it('describes an event as a POST to /', () => {
    const env = requestEnvironment({ callId: 'c', kind: 'event', contentType: 'application/json', deadlineMs: 0 });
    expect(env).toMatchObject({ Http_Method: 'POST', Http_Path: '/', Http_Query: '', Http_Content_Type: 'application/json' });
    expect(env.TRACEPARENT).toBeUndefined();
  });

  it('skips header names that cannot be variable names', () => {
    expect(headerVariableName('X-Weird.Name')).toBeUndefined();
    expect(headerVariableName('ACCEPT-encoding')).toBe('Http_Accept_Encoding');
  });

  it('returns JSON stdout as JSON and anything else as a JSON string', () => {
    expect(stdoutAsResult(Buffer.from('{"n": 3}\n')).toString()).toBe('{"n": 3}');
    expect(stdoutAsResult(Buffer.from('42')).toString()).toBe('42');
    expect(stdoutAsResult(Buffer.from('hello world\n')).toString()).toBe('"hello world\\n"');
    expect(stdoutAsResult(Buffer.from('')).toString()).toBe('""');
  });
});
