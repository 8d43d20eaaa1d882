/**
 * The code bundle of a program that runs on the default base root
 * filesystem (an OpenFaaS image we could not resolve): stubs refuses empty
 * bundles, so it holds one small file that says why it is there. A tar.gz
 * written by hand: one ustar header, the file, two zero blocks.
 */
import { gzipSync } from 'node:zlib';

const BLOCK = 512;
const FILE_NAME = 'README.txt';
const FILE_TEXT = 'This function runs a program of the default base root filesystem: its OpenFaaS image was not found in the code store.\n';

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

export function placeholderBundle(): Buffer {
  const body = Buffer.from(FILE_TEXT);
  const header = Buffer.alloc(BLOCK);
  header.write(FILE_NAME, 0);
  header.write(octal(0o644, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(body.length, 12), 124);
  header.write(octal(0, 12), 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
  return gzipSync(Buffer.concat([header, body, padding, Buffer.alloc(BLOCK * 2)]));
}
