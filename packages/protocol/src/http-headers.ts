/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1,
 * with the older keep-alive and proxy-connection): the edge does not hand
 * them to a function, and the funclet does not let a function's answer set
 * them. One list for both directions.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
