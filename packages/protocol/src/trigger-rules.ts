/**
 * What a trigger must be (docs/design.md "Triggers"), stated once: stubs
 * judges PutTrigger by these rules and the queue-worker relies on them when
 * it binds subjects and schedules.
 */

export const TRIGGER_TYPES = ['nats', 'cron', 'http'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export function isTriggerType(value: string): value is TriggerType {
  return (TRIGGER_TYPES as readonly string[]).includes(value);
}

/** Subjects the platform itself uses (invocations, logs, dead letters) and NATS' own. */
const RESERVED_SUBJECT_PREFIXES = ['faas.', '$', '_INBOX.'];
const SUBJECT_MAX_CHARS = 256;
// eslint-disable-next-line no-control-regex
const SUBJECT_TOKEN = /^[^\s.*>\u0000-\u001f\u007f]+$/;

/** What is wrong with a NATS subject a trigger binds (after "subject"); undefined when nothing is. */
export function triggerSubjectProblem(subject: string): string | undefined {
  if (subject === '') return 'is required';
  if (subject.length > SUBJECT_MAX_CHARS) return `must be at most ${SUBJECT_MAX_CHARS} characters`;
  if (RESERVED_SUBJECT_PREFIXES.some((prefix) => subject === prefix.replace(/\.$/, '') || subject.startsWith(prefix))) {
    return `must not be under ${RESERVED_SUBJECT_PREFIXES.join(', ')} (reserved for the platform and NATS)`;
  }
  const tokens = subject.split('.');
  for (const [index, token] of tokens.entries()) {
    if (token === '*') continue;
    if (token === '>') {
      if (index !== tokens.length - 1) return 'may use ">" only as its last token';
      continue;
    }
    if (!SUBJECT_TOKEN.test(token)) return `has an invalid token ${JSON.stringify(token.slice(0, 40))} (tokens are non-empty, without spaces, "*" or ">" inside)`;
  }
  return undefined;
}

/** Whether `subject` (no wildcards) is matched by `pattern` (wildcards allowed), as NATS matches them. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  for (let index = 0; index < want.length; index++) {
    const token = want[index];
    if (token === '>') return have.length > index;
    if (index >= have.length) return false;
    if (token !== '*' && token !== have[index]) return false;
  }
  return want.length === have.length;
}

/** Whether every subject `inner` can match is also matched by `outer` (both may hold wildcards). */
export function subjectCovers(outer: string, inner: string): boolean {
  const o = outer.split('.');
  const i = inner.split('.');
  for (let index = 0; index < o.length; index++) {
    const token = o[index];
    if (token === '>') return i.length > index;
    if (index >= i.length) return false;
    const other = i[index];
    if (other === '>') return false;
    if (token !== '*' && (other === '*' || token !== other)) return false;
  }
  return o.length === i.length;
}

/** Cron triggers take the classic five fields; seconds and years are refused. */
export const CRON_FIELDS = 5;

export function cronFieldCount(schedule: string): number {
  return schedule.trim().split(/\s+/).filter(Boolean).length;
}

/** Whether `zone` names an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A cron trigger's event: JSON text, at most this large. */
export const TRIGGER_EVENT_MAX_BYTES = 64 * 1024;

// ---- HTTP triggers ----------------------------------------------------------

export const HTTP_TRIGGER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Paths the platform's own routes live under: a trigger there would shadow them or be shadowed. */
const RESERVED_HTTP_PATHS = ['/v1', '/system', '/function', '/async-function', '/2015-03-31', '/healthz', '/metrics', '/ui'];
const HTTP_PATH_MAX_CHARS = 1024;
const PATH_PARAMETER = /^:[A-Za-z_][A-Za-z0-9_]{0,62}$/;
// RFC 3986 path characters, less ":" and "*" (which mark parameters and the wildcard).
const STATIC_SEGMENT = /^[A-Za-z0-9._~!$&'()+,;=@%-]+$/;

/** What is wrong with an HTTP trigger's path pattern (after "path"); undefined when nothing is. */
export function httpPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with "/"';
  if (path.length > HTTP_PATH_MAX_CHARS) return `must be at most ${HTTP_PATH_MAX_CHARS} characters`;
  if (RESERVED_HTTP_PATHS.some((reserved) => path === reserved || path.startsWith(`${reserved}/`))) return `must not be under ${RESERVED_HTTP_PATHS.join(', ')} (the platform's own routes)`;
  const segments = path.slice(1).split('/');
  const names = new Set<string>();
  for (const [index, segment] of segments.entries()) {
    if (segment === '' && index === segments.length - 1) continue;
    if (segment === '*') {
      if (index !== segments.length - 1) return 'may use "*" only as its last segment';
      continue;
    }
    if (segment.startsWith(':')) {
      if (!PATH_PARAMETER.test(segment)) return `has an invalid parameter ${JSON.stringify(segment.slice(0, 64))} (":" then a letter or "_", then letters, digits or "_")`;
      if (names.has(segment)) return `names the parameter ${segment} twice`;
      names.add(segment);
      continue;
    }
    if (!STATIC_SEGMENT.test(segment) || segment === '.' || segment === '..') return `has an invalid segment ${JSON.stringify(segment.slice(0, 64))}`;
  }
  return undefined;
}

/** A pattern with its parameters' names erased: two patterns of one shape match the same paths. */
export function httpRouteShape(path: string): string {
  return path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? ':' : segment))
    .join('/');
}

export interface HttpRouteClaim {
  readonly methods: readonly string[];
  readonly path: string;
  readonly host: string;
}

/**
 * Whether two HTTP triggers would claim the same requests: the same host
 * (or both any host), a method in common (no methods means all), and
 * patterns of one shape. Patterns that only overlap (`/users/me` and
 * `/users/:id`) do not clash: the more specific one wins, as static
 * segments win over parameters and parameters over the wildcard.
 */
export function httpRoutesClash(a: HttpRouteClaim, b: HttpRouteClaim): boolean {
  if (a.host.toLowerCase() !== b.host.toLowerCase()) return false;
  if (httpRouteShape(a.path) !== httpRouteShape(b.path)) return false;
  if (a.methods.length === 0 || b.methods.length === 0) return true;
  return a.methods.some((method) => b.methods.includes(method));
}
