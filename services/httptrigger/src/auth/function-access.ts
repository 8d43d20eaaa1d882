/**
 * Whether a function asks callers for a token (its config's `auth`), as the
 * edge remembers it. A known answer is served from memory and refreshed in
 * the background once it is older than the refresh time, so calls to public
 * functions never wait on stubs after the first; a change of setting takes
 * effect within that time (at once on the edge that wrote it).
 */
import { PlatformError, isPlatformError } from '@faas/errors';
import type { FunctionConfig } from '@faas/protocol';

export type FunctionLookup = (name: string) => Promise<FunctionConfig | undefined>;

interface Entry {
  needsToken: boolean;
  checkedAt: number;
  refreshing?: Promise<boolean>;
}

export class FunctionAccess {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly lookup: FunctionLookup,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether calls to the function `name` (unqualified) need an invoke token. */
  needsToken(name: string): boolean | Promise<boolean> {
    const entry = this.entries.get(name);
    if (!entry) return this.fetch(name);
    if (this.now() - entry.checkedAt >= this.refreshMs && !entry.refreshing) {
      entry.refreshing = this.fetch(name).catch(() => {
        // Stubs is away: keep the last answer and try again on a later call.
        entry.refreshing = undefined;
        entry.checkedAt = this.now();
        return entry.needsToken;
      });
    }
    return entry.needsToken;
  }

  /** The edge wrote or deleted this function: ask stubs next time. */
  forget(name: string): void {
    this.entries.delete(name);
  }

  private async fetch(name: string): Promise<boolean> {
    let config: FunctionConfig | undefined;
    try {
      config = await this.lookup(name);
    } catch (error) {
      // An unknown function is nobody's secret: its call answers function_not_found.
      if (isPlatformError(error) && (error.code === 'function_not_found' || error.code === 'invalid_function_name')) config = undefined;
      else throw new PlatformError('service_unavailable', 'could not learn whether this function needs a token', { cause: error });
    }
    const needsToken = config?.auth === 'token';
    // Unknown names are not remembered: a flood of made-up names must not fill the map.
    if (config) {
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(name, { needsToken, checkedAt: this.now() });
    } else this.entries.delete(name);
    return needsToken;
  }
}
