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

/** Reads a whole body, at most `limitBytes` of it. */
export async function readBody(stream: AsyncIterable<Buffer | string> & Pick<IncomingMessage, 'headers'>, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of limitedChunks(stream, limitBytes)) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
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
