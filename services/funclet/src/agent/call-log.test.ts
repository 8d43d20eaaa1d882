import { describe, expect, it } from 'vitest';
import { CallLog, TRUNCATION_MARKER } from './call-log.js';
import type { LogHeader } from './wire.js';

function recorder() {
  const frames: Array<{ header: LogHeader; text: string }> = [];
  return { frames, send: (header: LogHeader, bytes: Buffer) => frames.push({ header, text: bytes.toString('utf8') }) };
}

describe('per-call log forwarding', () => {
  it('forwards output tagged with the call and its stream', () => {
    const { frames, send } = recorder();
    const log = new CallLog('call-1', send);
    log.write('stdout', 'hello\n');
    log.write('stderr', Buffer.from('oops\n'));
    expect(frames).toEqual([
      { header: { callId: 'call-1', stream: 'stdout' }, text: 'hello\n' },
      { header: { callId: 'call-1', stream: 'stderr' }, text: 'oops\n' },
    ]);
  });

  it('stops at the limit with exactly one truncation marker', () => {
    const { frames, send } = recorder();
    const log = new CallLog('c', send, 10);
    log.write('stdout', '12345678');
    log.write('stdout', 'abcdef');
    log.write('stdout', 'more and more');
    log.write('stderr', 'and more');
    expect(frames.map((frame) => frame.text)).toEqual(['12345678', 'ab', TRUNCATION_MARKER]);
    expect(log.forwardedBytes).toBe(10);
    expect(log.wasTruncated).toBe(true);
  });

  it('keeps a huge write from reaching the host beyond the limit', () => {
    const { frames, send } = recorder();
    const log = new CallLog('c', send);
    for (let i = 0; i < 100; i++) log.write('stdout', Buffer.alloc(64 * 1024, 0x61));
    const forwarded = frames.reduce((sum, frame) => sum + Buffer.byteLength(frame.text), 0);
    expect(forwarded).toBeLessThanOrEqual(256 * 1024 + TRUNCATION_MARKER.length);
    expect(frames.filter((frame) => frame.text === TRUNCATION_MARKER)).toHaveLength(1);
  });
});
