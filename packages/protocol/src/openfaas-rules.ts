/**
 * OpenFaaS's deployment conventions, shared by the edge's OpenFaaS API and
 * the CLI's stack.yml deploys: Kubernetes memory quantities and the
 * com.openfaas.scale.* labels as our limits. Also `@faas/protocol/openfaas`,
 * so the CLI loads these without gRPC.
 */
import { PlatformError } from '@faas/errors';

export const SCALE_MIN_LABEL = 'com.openfaas.scale.min';
export const SCALE_MAX_LABEL = 'com.openfaas.scale.max';
export const SCALE_ZERO_LABEL = 'com.openfaas.scale.zero';
export const SCALE_ZERO_DURATION_LABEL = 'com.openfaas.scale.zero-duration';

/** Kubernetes-style quantities ("128Mi", "1G", "512M", "268435456") as MiB, rounded up. */
export function memoryMbOfQuantity(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T|m)?$/.exec(quantity.trim());
  if (!match) throw new PlatformError('invalid_function_config', `limits.memory ${JSON.stringify(quantity)} is not a quantity like "128Mi" or "1G"`);
  const units: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };
  return Math.ceil((Number(match[1]) * units[match[2] ?? '']!) / 2 ** 20);
}

/**
 * The scale labels as our limits: max replicas bound the calls at once (one
 * call per sandbox, as OpenFaaS's classic watchdog); min replicas are kept
 * warm unless scale-to-zero is allowed. Without labels our defaults apply
 * (scale to zero after the idle timeout).
 */
export function openFaasScaleLimits(labels: Record<string, string>): { maxConcurrency?: number; reservedConcurrency?: number; idleTimeoutSeconds?: number } {
  const count = (label: string) => {
    const raw = labels[label];
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw new PlatformError('invalid_function_config', `label ${label} must be a whole number (got ${JSON.stringify(raw)})`);
    return Number(raw);
  };
  const min = count(SCALE_MIN_LABEL);
  const max = count(SCALE_MAX_LABEL);
  const zero = labels[SCALE_ZERO_LABEL];
  const limits: { maxConcurrency?: number; reservedConcurrency?: number; idleTimeoutSeconds?: number } = {};
  if (max !== undefined) limits.maxConcurrency = max;
  if (zero === 'true') limits.reservedConcurrency = 0;
  else if (min !== undefined) limits.reservedConcurrency = min;
  else if (zero === 'false') limits.reservedConcurrency = 1;
  const idle = labels[SCALE_ZERO_DURATION_LABEL];
  if (idle !== undefined) limits.idleTimeoutSeconds = durationSecondsOf(idle, SCALE_ZERO_DURATION_LABEL);
  return limits;
}

/** Go-style durations as OpenFaaS labels write them: "15m", "90s", "1h". */
function durationSecondsOf(raw: string, label: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(raw);
  if (!match) throw new PlatformError('invalid_function_config', `label ${label} must be a duration like "15m" (got ${JSON.stringify(raw)})`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
}

