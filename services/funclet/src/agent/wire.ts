/**
 * The binary frame protocol between the funclet and the runtime agent inside
 * a sandbox (one unix socket per sandbox). Shared verbatim by both ends, so it
 * may use node builtins only.
 *
 *   u32 length | u32 requestId | u8 type | u32 headerLength | header JSON | body bytes
 *
 * All integers are big-endian. `length` counts the bytes after itself. The
 * body is raw bytes (payloads and results never go through base64). Many
 * requests can be in flight at once; replies carry the request's id.
 */

import type { ReportedSpan } from '@faas/telemetry';

export const FrameType = {
  /** host → agent: load the function's module. Header: LoadHeader. */
  LOAD: 1,
  /** host → agent: run the handler once. Header: InvokeHeader, body: payload. */
  INVOKE: 2,
  /** agent → host: the request succeeded (reply to LOAD). */
  OK: 3,
  /** agent → host: the request failed before reaching the handler. Header: ErrorHeader. */
  ERROR: 4,
  /**
   * agent → host: the handler returned. Event calls: no header, body: the
   * JSON-encoded result. HTTP calls: header: HttpHead, body: the response body.
   */
  RESULT: 5,
  /** agent → host: the handler threw. Header: ErrorHeader. */
  FUNCTION_ERROR: 6,
  /** agent → host, unsolicited: output the function wrote while serving a call. Header: LogHeader, body: the bytes. */
  LOG: 7,
  /** host → agent: are you still answering? Replied to with OK; the host recycles a sandbox whose idle agent does not. */
  PING: 8,
  /**
   * agent → host, unsolicited, before a call's reply when the call asked for
   * spans (InvokeHeader.recordSpans): the agent's span for the call and the
   * spans its handler opened. Header: SpansHeader.
   */
  SPANS: 9,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export interface LoadHeader {
  readonly handler: string;
  readonly codeDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly functionName: string;
  readonly version: string;
  readonly memoryMb: number;
  /** Where a custom runtime's files are (its `bootstrap`); custom runtimes only. */
  readonly runtimeDir?: string;
}

export interface HttpRequestHeader {
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly headers: Readonly<Record<string, string>>;
  /** An HTTP trigger's path parameters; absent or empty otherwise. */
  readonly pathParameters?: Readonly<Record<string, string>>;
}

export interface InvokeHeader {
  readonly callId: string;
  readonly kind: 'event' | 'http';
  readonly contentType: string;
  readonly http?: HttpRequestHeader;
  /** Epoch milliseconds at which the host kills the sandbox. */
  readonly deadlineMs: number;
  /** W3C trace context of the host's span serving this call, when one is active. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** The CloudEvent's attributes by spec name, when the event came as one (event calls only). */
  readonly cloudEvent?: Readonly<Record<string, string>>;
  /** The host records spans: the agent opens one for the call, hands the handler its context, and reports both (SPANS). */
  readonly recordSpans?: boolean;
}

/**
 * One finished span, as the agent reports it (ids as lower-case hex, times in
 * epoch milliseconds): the funclet records it as it is. A type only, so the
 * agent still loads nothing but node builtins.
 */
export type AgentSpan = ReportedSpan;

export interface SpansHeader {
  readonly callId: string;
  readonly spans: readonly AgentSpan[];
}

/** The status and headers of an HTTP call's answer (RESULT's header); its body is the frame's body. */
export interface HttpHead {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
}

export interface LogHeader {
  /** The call being served when the output was written ('' when none was). */
  readonly callId: string;
  readonly stream: 'stdout' | 'stderr';
}

export interface ErrorHeader {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
}

export interface Frame {
  readonly requestId: number;
  readonly type: number;
  readonly header: unknown;
  readonly body: Buffer;
}

/** Bytes after the length field that precede the header: requestId + type + headerLength. */
const FIXED_AFTER_LENGTH = 4 + 1 + 4;
/** Frames beyond this are treated as a corrupt stream rather than buffered forever. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

export function encodeFrame(requestId: number, type: number, header?: unknown, body?: Uint8Array): Buffer {
  const headerBytes = header === undefined ? EMPTY : Buffer.from(JSON.stringify(header), 'utf8');
  const bodyBytes = body ?? EMPTY;
  const length = FIXED_AFTER_LENGTH + headerBytes.length + bodyBytes.length;
  if (length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  const prefix = Buffer.allocUnsafe(4 + FIXED_AFTER_LENGTH);
  prefix.writeUInt32BE(length, 0);
  prefix.writeUInt32BE(requestId >>> 0, 4);
  prefix.writeUInt8(type, 8);
  prefix.writeUInt32BE(headerBytes.length, 9);
  return Buffer.concat([prefix, headerBytes, bodyBytes]);
}

/**
 * Hands `onFrame` every frame arriving on `socket`, in order; a stream that
 * cannot be framed (corrupt length, bad header) ends with `onCorrupt`, as
 * nothing after it could be trusted.
 */
export function readFrames(socket: NodeJS.ReadableStream, onFrame: (frame: Frame) => void, onCorrupt: (error: Error) => void): void {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      onCorrupt(error as Error);
      return;
    }
    for (const frame of frames) onFrame(frame);
  });
}

/** Sockets corked until the end of the current turn of the event loop. */
const corked = new WeakSet<NodeJS.WritableStream & { cork(): void; uncork(): void }>();

/**
 * Writes a frame so that all frames written to `socket` within one turn of
 * the event loop leave in one writev: under load, one syscall for a batch
 * of calls (or of results) instead of one each.
 */
export function writeFrame(socket: NodeJS.WritableStream & { cork(): void; uncork(): void }, frame: Uint8Array): void {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    setImmediate(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  socket.write(frame);
}

/**
 * Reassembles frames from a byte stream whose chunks may split frames
 * anywhere or hold several of them.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes and returns every frame completed by them, in order. */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= 4) {
      const length = this.peekLength();
      if (length < FIXED_AFTER_LENGTH || length > MAX_FRAME_BYTES) {
        throw new RangeError(`corrupt frame: length ${length}`);
      }
      if (this.buffered < 4 + length) break;
      frames.push(parseFrame(this.take(4 + length)));
    }
    return frames;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.readUInt32BE(0);
  }

  private take(count: number): Buffer {
    let joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const taken = joined.subarray(0, count);
    joined = joined.subarray(count);
    this.chunks = joined.length > 0 ? [joined] : [];
    this.buffered -= count;
    return taken;
  }
}

function parseFrame(bytes: Buffer): Frame {
  const requestId = bytes.readUInt32BE(4);
  const type = bytes.readUInt8(8);
  const headerLength = bytes.readUInt32BE(9);
  const headerStart = 4 + FIXED_AFTER_LENGTH;
  const bodyStart = headerStart + headerLength;
  if (bodyStart > bytes.length) throw new RangeError(`corrupt frame: header length ${headerLength} exceeds the frame`);
  const header = headerLength === 0 ? undefined : JSON.parse(bytes.toString('utf8', headerStart, bodyStart));
  return { requestId, type, header, body: bytes.subarray(bodyStart) };
}
