/**
 * What one call writes to stdout/stderr, forwarded to the funclet as LOG
 * frames. Bounded per call: a function printing gigabytes costs the host at
 * most MAX_CALL_LOG_BYTES, then a single marker says the rest was dropped.
 * Runs inside the sandbox: node builtins only.
 */
import type { LogHeader } from './wire.js';

export const MAX_CALL_LOG_BYTES = 256 * 1024;
export const TRUNCATION_MARKER = '\n[faas: output truncated: this call wrote more than 256 KiB]\n';

export type LogStream = LogHeader['stream'];
export type SendLog = (header: LogHeader, bytes: Buffer) => void;

export class CallLog {
  private written = 0;
  private truncated = false;

  constructor(
    readonly callId: string,
    private readonly sendLog: SendLog,
    private readonly limitBytes = MAX_CALL_LOG_BYTES,
  ) {}

  /** Bytes forwarded so far (the marker excluded). */
  get forwardedBytes(): number {
    return this.written;
  }

  get wasTruncated(): boolean {
    return this.truncated;
  }

  write(stream: LogStream, chunk: Uint8Array | string): void {
    if (this.truncated) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (bytes.length === 0) return;
    const room = this.limitBytes - this.written;
    if (bytes.length <= room) {
      this.written += bytes.length;
      this.sendLog({ callId: this.callId, stream }, bytes);
      return;
    }
    if (room > 0) {
      this.written += room;
      this.sendLog({ callId: this.callId, stream }, bytes.subarray(0, room));
    }
    this.truncated = true;
    this.sendLog({ callId: this.callId, stream: 'stderr' }, Buffer.from(TRUNCATION_MARKER, 'utf8'));
  }
}
