import type { Readable } from 'node:stream';

/** Longer lines are cut, so one runaway write cannot grow the funclet's memory. */
const MAX_LINE_CHARS = 16 * 1024;

/** Calls `onLine` for each line the stream carries (the last one even without a newline). */
export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    partial += chunk;
    let newline: number;
    while ((newline = partial.indexOf('\n')) >= 0) {
      onLine(partial.slice(0, newline).slice(0, MAX_LINE_CHARS));
      partial = partial.slice(newline + 1);
    }
    if (partial.length > MAX_LINE_CHARS) {
      onLine(partial.slice(0, MAX_LINE_CHARS));
      partial = '';
    }
  });
  stream.on('end', () => {
    if (partial) onLine(partial);
    partial = '';
  });
  stream.on('error', () => {
    // The sandbox went away; nothing more to read.
  });
}
