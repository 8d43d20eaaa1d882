/**
 * Which functions exist, remembered for a moment: queueing a call checks its
 * function exists (so the caller hears 404 now rather than reading it from
 * the call later), and asking stubs for every queued call would cost more
 * than the queueing itself. Only existence is kept, never a config, and
 * never a miss. A function deleted through another edge within `ttlMs` may
 * still have a call accepted; that call ends `failed` with
 * function_not_found, as one queued just before the delete would.
 */
export class KnownFunctions {
  private readonly seenAtMs = new Map<string, number>();

  constructor(
    private readonly lookup: (name: string) => Promise<unknown>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when the call's target (`name`, `name:3`, `name:live`) exists; rejects with the lookup's error (function_not_found) otherwise. */
  async assertExists(target: string): Promise<void> {
    const seen = this.seenAtMs.get(target);
    if (seen !== undefined && this.now() - seen < this.ttlMs) return;
    await this.lookup(target);
    if (this.ttlMs <= 0) return;
    if (this.seenAtMs.size >= 10_000) this.seenAtMs.clear();
    this.seenAtMs.set(target, this.now());
  }

  /** A deploy or delete through this edge: ask stubs next time, for every version and alias of the function. */
  forget(name: string): void {
    for (const target of this.seenAtMs.keys()) if (target === name || target.startsWith(`${name}:`)) this.seenAtMs.delete(target);
  }
}
