/** Human output by default, JSON with --json: one place decides. */
export interface Output {
  readonly json: boolean;
  /** A progress line for people (stderr, so stdout stays the result). */
  progress(line: string): void;
  /** The command's result: `value` as JSON, or `human()`'s lines. */
  result(value: unknown, human: () => string): void;
}

export function outputFor(json: boolean): Output {
  return {
    json,
    progress: (line) => {
      if (!json) process.stderr.write(`${line}\n`);
    },
    result: (value, human) => {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
    },
  };
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}
