/**
 * How many sandboxes may boot at once. A boot (runc, the runtime's start) is
 * CPU-bound for ~100 ms: on a small host, a hundred at once all finish late
 * (and some time out), while a few at a time finish one after another. Boots
 * for a waiting request queue first in line; the pool only boots when a slot
 * is free and no request waits for one.
 */
export class BootSlots {
  private inUse = 0;
  private readonly queue: Array<() => void> = [];
  private readonly releaseListeners: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get waiting(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.inUse;
  }

  /** A slot now, or false (the pool's way: it tries again on the next release). */
  tryAcquire(): boolean {
    if (this.queue.length > 0 || this.inUse >= this.limit) return false;
    this.inUse += 1;
    return true;
  }

  /** A slot, waiting in line for it if need be (a request's boot). */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) {
      next();
      return;
    }
    this.inUse -= 1;
    for (const listener of this.releaseListeners) listener();
  }

  /** Called whenever a slot comes free with nobody queued for it. */
  onRelease(listener: () => void): void {
    this.releaseListeners.push(listener);
  }
}
