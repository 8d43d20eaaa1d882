import type { FunctionConfig } from '@faas/protocol';
import type { NoticeCache } from '@faas/redis';
import type { RetryPolicy } from './retry-policy.js';

/** What the worker needs of a function's config to run its asynchronous calls. */
export interface FunctionSettings {
  readonly retry: RetryPolicy;
  /** '' when callbacks go unsigned. */
  readonly callbackSecret: string;
  /** Calls of this function this worker runs at once (the function's own limit). */
  readonly maxConcurrency: number;
}

export interface FunctionSettingsSource {
  /** Throws PlatformError function_not_found for a function that is not deployed. */
  settingsOf(functionName: string): Promise<FunctionSettings>;
}

/** The policy a function's config asks for, the worker's defaults where it says nothing (0). */
export function settingsFrom(config: FunctionConfig, defaults: RetryPolicy): FunctionSettings {
  const policy = config.asyncPolicy;
  return {
    retry: {
      maxAttempts: policy?.maxAttempts || defaults.maxAttempts,
      baseDelayMs: policy?.baseDelayMs || defaults.baseDelayMs,
      maxDelayMs: policy?.maxDelayMs || Math.max(defaults.maxDelayMs, policy?.baseDelayMs ?? 0),
      retryFunctionErrors: policy?.retryFunctionErrors ?? defaults.retryFunctionErrors,
    },
    callbackSecret: config.callbackSecret,
    maxConcurrency: config.maxConcurrency,
  };
}

/**
 * Function configs from stubs, kept in a NoticeCache fed by stubs' change
 * notices (main.ts subscribes), so a call does not cost a round trip to
 * stubs and a redeploy's new policy applies to the next call.
 */
export class CachedFunctionSettings implements FunctionSettingsSource {
  /** Loads in flight: the calls that miss together (after an expiry, many at once) share one request to stubs. */
  private readonly loading = new Map<string, Promise<FunctionConfig>>();

  constructor(
    private readonly load: (functionName: string) => Promise<FunctionConfig>,
    private readonly cache: NoticeCache<FunctionConfig>,
    private readonly defaults: RetryPolicy,
  ) {}

  async settingsOf(functionName: string): Promise<FunctionSettings> {
    const config = await this.cache.get(functionName, () => this.loadOnce(functionName));
    return settingsFrom(config, this.defaults);
  }

  private loadOnce(functionName: string): Promise<FunctionConfig> {
    let load = this.loading.get(functionName);
    if (!load) {
      load = this.load(functionName).finally(() => this.loading.delete(functionName));
      this.loading.set(functionName, load);
    }
    return load;
  }
}
