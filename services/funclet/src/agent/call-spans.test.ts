import { describe, expect, it } from 'vitest';
import { CallSpans, unrecordedSpan } from './call-spans.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('CallSpans', () => {
  it('opens the agent span under the caller and hands the handler a context naming it', () => {
    const spans = CallSpans.from(`00-${TRACE}-00f067aa0ba902b7-01`)!;
    expect(spans.handlerTraceparent).toBe(`00-${TRACE}-${spans.agentSpanId}-01`);
    const work = spans.startSpan('work', undefined, { step: 1 });
    const inner = work.startSpan('inner');
    inner.end();
    work.setAttribute('rows', 3).recordError(new Error('half done'));
    work.end();
    work.end();
    const reported = spans.finish('call-1');
    expect(reported.map((span) => span.name)).toEqual(['inner', 'work', 'agent invoke']);
    const [innerSpan, workSpan, agentSpan] = reported;
    expect(agentSpan).toMatchObject({ traceId: TRACE, spanId: spans.agentSpanId, parentSpanId: '00f067aa0ba902b7', attributes: { 'faas.call_id': 'call-1' } });
    expect(workSpan).toMatchObject({ parentSpanId: spans.agentSpanId, attributes: { step: 1, rows: 3 }, error: 'half done' });
    expect(innerSpan!.parentSpanId).toBe(workSpan!.spanId);
    expect(work.traceparent).toBe(`00-${TRACE}-${workSpan!.spanId}-01`);
    for (const span of reported) expect(span.endMs).toBeGreaterThanOrEqual(span.startMs);
  });

  it('continues nothing it cannot parse', () => {
    expect(CallSpans.from(undefined)).toBeUndefined();
    expect(CallSpans.from('garbage')).toBeUndefined();
    expect(CallSpans.from(`01-${TRACE}-00f067aa0ba902b7-01`)).toBeUndefined();
  });

  it('hands out a span that records nothing when the host records nothing', () => {
    const span = unrecordedSpan('00-abc-def-01');
    expect(span.traceparent).toBe('00-abc-def-01');
    expect(span.startSpan('child').setAttribute('a', 1)).toBe(span);
    expect(() => span.end()).not.toThrow();
  });
});
