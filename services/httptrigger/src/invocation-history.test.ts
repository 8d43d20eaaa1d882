import { describe, expect, it } from 'vitest';
import { InvocationHistory } from './invocation-history.js';

describe('InvocationHistory', () => {
  it('keeps the last N calls per function, newest first', () => {
    const history = new InvocationHistory(3);
    for (let i = 1; i <= 5; i++) history.record('echo', `call-${i}`, i, 1, 'event', 'ok', 200, i === 1, 'sb-1');
    history.record('other', 'x', 9, 1, 'http', 'function_error', 500, false, 'sb-2');
    expect(history.recent('echo').map((call) => call.callId)).toEqual(['call-5', 'call-4', 'call-3']);
    expect(history.recent('echo', 1)).toEqual([{ callId: 'call-5', startedAtMs: 5, durationMs: 1, kind: 'event', outcome: 'ok', status: 200, coldStart: false, sandboxId: 'sb-1' }]);
    expect(history.recent('other')).toHaveLength(1);
    expect(history.recent('nobody')).toEqual([]);
  });

  it('hands out copies, not the records it reuses', () => {
    const history = new InvocationHistory(1);
    history.record('echo', 'a', 1, 1, 'event', 'ok', 200, false, '');
    const first = history.recent('echo')[0]!;
    history.record('echo', 'b', 2, 1, 'event', 'ok', 200, false, '');
    expect(first.callId).toBe('a');
  });

  it('keeps nothing when its size is 0', () => {
    const history = new InvocationHistory(0);
    history.record('echo', 'a', 1, 1, 'event', 'ok', 200, false, '');
    expect(history.recent('echo')).toEqual([]);
  });
});
