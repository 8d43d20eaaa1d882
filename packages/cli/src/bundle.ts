/**
 * Zips a function's folder (and, for OpenFaaS templates, our shim beside
 * it) into the bundle uploaded to POST /v1/code. Version control folders
 * stay out; file modes are kept so scripts stay executable.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { CliError, EXIT } from './gateway.js';

const SKIPPED = new Set(['.git', '.hg', '.svn', '.DS_Store']);

export interface Bundle {
  readonly bytes: Uint8Array;
  readonly files: number;
}

/** The folder's files under `prefix` in the zip, plus `extra` files (name → content) at the top. */
export function bundleFolder(folder: string, options: { prefix?: string; extra?: Record<string, string | Uint8Array> } = {}): Bundle {
  let stat;
  try {
    stat = statSync(folder);
  } catch {
    throw new CliError(`no folder ${folder}`, EXIT.usage, 'give the folder that holds the function\'s code');
  }
  if (!stat.isDirectory()) throw new CliError(`${folder} is not a folder`, EXIT.usage);
  const entries: Zippable = {};
  let files = 0;
  const walk = (dir: string, relative: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (SKIPPED.has(name)) continue;
      const full = path.join(dir, name);
      const inZip = relative ? `${relative}/${name}` : name;
      const info = statSync(full);
      if (info.isDirectory()) walk(full, inZip);
      else if (info.isFile()) {
        // The upper 16 bits of a zip entry's external attributes hold the Unix mode.
        entries[inZip] = [readFileSync(full), { attrs: (info.mode & 0o777) << 16, mtime: info.mtime }];
        files += 1;
      }
    }
  };
  walk(folder, options.prefix ?? '');
  for (const [name, content] of Object.entries(options.extra ?? {})) {
    entries[name] = [typeof content === 'string' ? Buffer.from(content) : content, { attrs: 0o644 << 16 }];
    files += 1;
  }
  if (files === 0) throw new CliError(`${folder} holds no files`, EXIT.usage);
  return { bytes: zipSync(entries, { level: 6 }), files };
}
