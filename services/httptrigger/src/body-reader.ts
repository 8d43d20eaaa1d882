import type { IncomingMessage } from 'node:http';
import { PlatformError } from '@faas/errors';

function tooLarge(limitBytes: number): PlatformError {
  return new PlatformError('payload_too_large', `the body is larger than ${formatLimit(limitBytes)}`);
}

/** Refuses early when the declared length is already over the limit. */
export function assertDeclaredLength(request: Pick<IncomingMessage, 'headers'>, limitBytes: number): void {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) throw tooLarge(limitBytes);
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads a whole body, at most `limitBytes` of it. Event-driven rather than
 * an async iteration: this runs for every invocation, and most bodies
 * arrive in one chunk.
 */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  try {
    assertDeclaredLength(request, limitBytes);
  } catch (error) {
    return Promise.reject(error);
  }
  if (request.readableEnded) return Promise.resolve(EMPTY);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limitBytes) {
        cleanUp();
        // Stop reading; the error handler decides whether to drain or close.
        request.pause();
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanUp();
      resolve(chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    const onAborted = () => onError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const cleanUp = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onAborted);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onAborted);
  });
}

/**
 * Passes a body on chunk by chunk without holding it, counting as it goes:
 * the code upload path, where bundles can be tens of MiB.
 */
export async function* limitedChunks(stream: AsyncIterable<Buffer | string> & Pick<IncomingMessage, 'headers'>, limitBytes: number): AsyncGenerator<Buffer> {
  assertDeclaredLength(stream, limitBytes);
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.byteLength;
    if (size > limitBytes) throw tooLarge(limitBytes);
    if (buffer.byteLength > 0) yield buffer;
  }
}

function formatLimit(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
