/**
 * Durations in the environment as people write them: "24h", "90m", "30s",
 * "1500ms", "7d". A bare number is refused: its unit would be a guess.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(raw: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(raw.trim());
  if (!match) throw new Error('expected a duration such as 24h, 90m, 30s or 500ms');
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new Error('expected a duration above zero');
  return ms;
}
