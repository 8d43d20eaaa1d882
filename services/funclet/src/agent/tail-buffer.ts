/** The end of a stream of bytes, for error messages and log tails. Node builtins only. */

export const MAX_TAIL_BYTES = 4096;

/** Keeps the last `limit` bytes written to it (whole chunks, trimmed when read). */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = MAX_TAIL_BYTES) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
    // One huge chunk: keep a copy of its end rather than all of it.
    if (this.size > 4 * this.limit) {
      this.chunks = [Buffer.from(this.bytes())];
      this.size = this.chunks[0]!.length;
    }
  }

  /** The last `limit` bytes. */
  bytes(): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    return joined.subarray(Math.max(0, joined.length - this.limit));
  }

  toString(): string {
    return this.bytes().toString('utf8');
  }
}
