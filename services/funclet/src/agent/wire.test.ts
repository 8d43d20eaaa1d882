import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameType, encodeFrame } from './wire.js';

describe('agent wire codec', () => {
  it('round-trips a frame with a JSON header and binary body', () => {
    const body = Buffer.from([0, 255, 1, 254, 0x80, 0x0a]);
    const frame = encodeFrame(7, FrameType.INVOKE, { callId: 'c-1', kind: 'event' }, body);
    const [decoded, ...rest] = new FrameDecoder().push(frame);
    expect(rest).toHaveLength(0);
    expect(decoded!.requestId).toBe(7);
    expect(decoded!.type).toBe(FrameType.INVOKE);
    expect(decoded!.header).toEqual({ callId: 'c-1', kind: 'event' });
    expect([...decoded!.body]).toEqual([...body]);
  });

  it('writes the documented layout: length counts the bytes after itself', () => {
    const frame = encodeFrame(1, FrameType.OK, { a: 1 }, Buffer.from('xy'));
    const header = Buffer.from('{"a":1}');
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame.readUInt32BE(4)).toBe(1);
    expect(frame.readUInt8(8)).toBe(FrameType.OK);
    expect(frame.readUInt32BE(9)).toBe(header.length);
    expect(frame.subarray(13, 13 + header.length).toString()).toBe('{"a":1}');
    expect(frame.subarray(13 + header.length).toString()).toBe('xy');
  });

  it('reassembles frames split at every possible byte', () => {
    const frame = encodeFrame(42, FrameType.RESULT, { ok: true }, Buffer.from('{"answer":42}'));
    for (let cut = 1; cut < frame.length; cut++) {
      const decoder = new FrameDecoder();
      expect(decoder.push(frame.subarray(0, cut))).toEqual([]);
      const frames = decoder.push(frame.subarray(cut));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.body.toString()).toBe('{"answer":42}');
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('decodes several frames from one chunk, keeping a trailing partial frame', () => {
    const a = encodeFrame(1, FrameType.OK);
    const b = encodeFrame(2, FrameType.RESULT, undefined, Buffer.from('null'));
    const c = encodeFrame(3, FrameType.FUNCTION_ERROR, { type: 'TypeError', message: 'x' });
    const decoder = new FrameDecoder();
    const first = decoder.push(Buffer.concat([a, b, c.subarray(0, 5)]));
    expect(first.map((f) => f.requestId)).toEqual([1, 2]);
    expect(first[0]!.header).toBeUndefined();
    expect(first[1]!.body.toString()).toBe('null');
    const second = decoder.push(c.subarray(5));
    expect(second).toHaveLength(1);
    expect(second[0]!.header).toEqual({ type: 'TypeError', message: 'x' });
  });

  it('keeps large binary bodies byte-exact', () => {
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const frame = encodeFrame(9, FrameType.INVOKE, {}, body);
    const decoder = new FrameDecoder();
    const frames = [];
    for (let i = 0; i < frame.length; i += 65_536) frames.push(...decoder.push(frame.subarray(i, i + 65_536)));
    expect(frames).toHaveLength(1);
    expect(Buffer.compare(frames[0]!.body, body)).toBe(0);
  });

  it('rejects a corrupt length instead of buffering forever', () => {
    const bogus = Buffer.alloc(8);
    bogus.writeUInt32BE(2, 0);
    expect(() => new FrameDecoder().push(bogus)).toThrow(/corrupt frame/);
  });
});
