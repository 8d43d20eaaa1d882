/**
 * Where the output of functions goes once it leaves the sandbox: cut into
 * lines, each published with its call id (see log-publisher.ts), and the end
 * of each running call's output kept so the caller can get it back as a tail
 * (X-Log-Type: Tail). Everything is bounded: the agents cap a call's output,
 * and this module holds at most a partial line and a 4 KiB tail per call.
 */
import type { LogLine } from '@faas/protocol';
import { TailBuffer } from './agent/tail-buffer.js';
import type { LogHeader } from './agent/wire.js';

export const LOG_TAIL_BYTES = 4096;
/** A "line" longer than this is cut, so a function printing no newline cannot grow a buffer. */
export const MAX_LINE_BYTES = 16 * 1024;

export interface LogSource {
  readonly functionName: string;
  readonly version: bigint;
  readonly sandboxId: string;
}

/** One published line (the JSON body of a faas.logs.<function> message). */
export type LogRecord = LogLine;

export interface LogPublisher {
  publish(functionName: string, record: LogRecord): void;
}

interface CallCapture {
  readonly source: LogSource;
  readonly tail: TailBuffer;
  readonly partial: Map<LogHeader['stream'], Buffer>;
}

export class LogSink {
  private readonly calls = new Map<string, CallCapture>();

  constructor(
    private readonly publisher: LogPublisher,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Starts collecting a call's output (its tail and unfinished lines). */
  startCall(callId: string, source: LogSource): void {
    this.calls.set(callId, { source, tail: new TailBuffer(LOG_TAIL_BYTES), partial: new Map() });
  }

  /** Ends the call: publishes its unfinished lines and returns the last bytes it wrote. */
  finishCall(callId: string): Buffer {
    const capture = this.calls.get(callId);
    if (!capture) return Buffer.alloc(0);
    this.calls.delete(callId);
    for (const [stream, rest] of capture.partial) this.emit(capture.source, callId, stream, rest);
    return capture.tail.bytes();
  }

  /** Bytes of one LOG frame from a sandbox. */
  write(source: LogSource, header: LogHeader, bytes: Buffer): void {
    const stream = header.stream === 'stderr' ? 'stderr' : 'stdout';
    const callId = typeof header.callId === 'string' ? header.callId : '';
    const capture = callId ? this.calls.get(callId) : undefined;
    capture?.tail.push(bytes);

    let text = capture?.partial.get(stream);
    text = text ? Buffer.concat([text, bytes]) : bytes;
    let start = 0;
    for (let newline = text.indexOf(10, start); newline !== -1; newline = text.indexOf(10, start)) {
      this.emit(source, callId, stream, text.subarray(start, newline));
      start = newline + 1;
    }
    let rest = text.subarray(start);
    while (rest.length > MAX_LINE_BYTES) {
      this.emit(source, callId, stream, rest.subarray(0, MAX_LINE_BYTES));
      rest = rest.subarray(MAX_LINE_BYTES);
    }
    // Output of a call that is over (a stray timer) has nobody to finish its line: publish it now.
    if (!capture) {
      if (rest.length > 0) this.emit(source, callId, stream, rest);
      return;
    }
    if (rest.length > 0) capture.partial.set(stream, Buffer.from(rest));
    else capture.partial.delete(stream);
  }

  private emit(source: LogSource, callId: string, stream: LogHeader['stream'], line: Buffer): void {
    const text = line.toString('utf8').replace(/\r$/, '');
    this.publisher.publish(source.functionName, {
      time: this.now().toISOString(),
      callId,
      stream,
      sandboxId: source.sandboxId,
      version: source.version.toString(),
      line: text,
    });
  }
}
