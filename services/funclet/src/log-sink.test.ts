import { describe, expect, it } from 'vitest';
import { LOG_TAIL_BYTES, LogSink, MAX_LINE_BYTES, type LogRecord } from './log-sink.js';

function sinkWithRecords() {
  const published: Array<{ fn: string; record: LogRecord }> = [];
  const sink = new LogSink({ publish: (fn, record) => published.push({ fn, record }) }, () => new Date('2024-01-02T03:04:05.000Z'));
  return { sink, published, lines: () => published.map(({ record }) => record.line) };
}

const source = { functionName: 'hello', version: 4n, sandboxId: 'sb-1' };

describe('the log sink', () => {
  it('publishes whole lines tagged with the call, the stream, the sandbox and the version', () => {
    const { sink, published } = sinkWithRecords();
    sink.startCall('c1', source);
    sink.write(source, { callId: 'c1', stream: 'stdout' }, Buffer.from('first\nsec'));
    expect(published).toHaveLength(1);
    sink.write(source, { callId: 'c1', stream: 'stdout' }, Buffer.from('ond\n'));
    expect(published).toEqual([
      { fn: 'hello', record: { time: '2024-01-02T03:04:05.000Z', callId: 'c1', stream: 'stdout', sandboxId: 'sb-1', version: '4', line: 'first' } },
      { fn: 'hello', record: { time: '2024-01-02T03:04:05.000Z', callId: 'c1', stream: 'stdout', sandboxId: 'sb-1', version: '4', line: 'second' } },
    ]);
  });

  it('publishes an unfinished last line when the call ends, and returns the output as the tail', () => {
    const { sink, lines } = sinkWithRecords();
    sink.startCall('c1', source);
    sink.write(source, { callId: 'c1', stream: 'stderr' }, Buffer.from('warn: x\nno newline'));
    const tail = sink.finishCall('c1');
    expect(lines()).toEqual(['warn: x', 'no newline']);
    expect(tail.toString()).toBe('warn: x\nno newline');
  });

  it('keeps only the last 4 KiB as the tail', () => {
    const { sink } = sinkWithRecords();
    sink.startCall('c1', source);
    for (let i = 0; i < 1000; i++) sink.write(source, { callId: 'c1', stream: 'stdout' }, Buffer.from(`line ${i}\n`));
    const tail = sink.finishCall('c1');
    expect(tail.length).toBe(LOG_TAIL_BYTES);
    expect(tail.toString().endsWith('line 999\n')).toBe(true);
    expect(sink.finishCall('c1').length).toBe(0);
  });

  it('cuts endless lines and publishes output of calls it does not track at once', () => {
    const { sink, lines } = sinkWithRecords();
    sink.startCall('c1', source);
    sink.write(source, { callId: 'c1', stream: 'stdout' }, Buffer.alloc(MAX_LINE_BYTES * 2 + 5, 0x78));
    expect(lines()).toHaveLength(2);
    sink.write(source, { callId: 'gone', stream: 'stdout' }, Buffer.from('late output'));
    expect(lines().at(-1)).toBe('late output');
  });
});
