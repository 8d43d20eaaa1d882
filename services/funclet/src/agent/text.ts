/** Text helpers the agent's runtimes share. Node builtins only. */
import { isUtf8 } from 'node:buffer';

/** The bytes as text when they are valid UTF-8; undefined when they are not (they travel as base64 then). */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  return isUtf8(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : undefined;
}
