import { readFileSync } from 'node:fs';
export function split(pid) { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return { u: Number(f[11]) * 10000, s: Number(f[12]) * 10000 }; }
