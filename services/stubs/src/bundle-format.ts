/** Archive formats a code bundle may come in, told apart by their first bytes. */
export type BundleFormat = 'zip' | 'tar.gz';

/** Bytes needed before the format can be told. */
export const FORMAT_SNIFF_BYTES = 4;

export function sniffBundleFormat(head: Uint8Array): BundleFormat | undefined {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  return undefined;
}
