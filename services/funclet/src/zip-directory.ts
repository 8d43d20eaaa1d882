/**
 * Reads a zip's central directory for what fflate does not report: each
 * entry's unix mode, so symbolic links (stored as files holding their
 * target) can be skipped instead of written as something else.
 */

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const UNIX_HOST = 3;
const FILE_TYPE_MASK = 0o170000;

export const UnixFileType = {
  regular: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
} as const;

export interface ZipEntryMode {
  /** Unix mode bits (type and permissions); undefined when the zip was not made on unix. */
  readonly mode: number | undefined;
}

/** Entry name → mode, for every entry in the central directory. */
export function readZipModes(zip: Uint8Array): Map<string, ZipEntryMode> {
  const modes = new Map<string, ZipEntryMode>();
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = findEndOfCentralDirectory(view);
  if (end < 0) return modes;
  const entryCount = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  for (let i = 0; i < entryCount && offset + 46 <= zip.length; i++) {
    if (view.getUint32(offset, true) !== CENTRAL_DIRECTORY_ENTRY) break;
    const madeBy = view.getUint16(offset + 4, true) >> 8;
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const externalAttributes = view.getUint32(offset + 38, true);
    const name = decoder.decode(zip.subarray(offset + 46, offset + 46 + nameLength));
    const unixMode = externalAttributes >>> 16;
    modes.set(name, { mode: madeBy === UNIX_HOST && unixMode !== 0 ? unixMode : undefined });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return modes;
}

export function fileType(mode: number): number {
  return mode & FILE_TYPE_MASK;
}

function findEndOfCentralDirectory(view: DataView): number {
  // The record is 22 bytes plus a comment of at most 65535 bytes, at the end.
  const lowest = Math.max(0, view.byteLength - 22 - 0xffff);
  for (let offset = view.byteLength - 22; offset >= lowest; offset--) {
    if (view.getUint32(offset, true) === END_OF_CENTRAL_DIRECTORY) return offset;
  }
  return -1;
}
