import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { extensionOf, SNIFF_BYTES, sniffFormat, type LeakFormat } from './format-sniff.js';
import type { SkippedFile } from './scan-types.js';
import type { WorkUnit } from './work-unit.js';
import { sqlStatementBefore } from './sql-statement-before.js';
import { readZipDirectory, ZipDamaged } from './zip-directory.js';

/**
 * Turns the paths given into work units: directories are walked (sorted, so runs are repeatable),
 * each file is recognised by name and first bytes (format-sniff.ts), zip files are opened to list
 * their members, and large plain files whose records are lines are split into ranges cut at a
 * record boundary, so every core works on one big file too. What cannot be scanned is listed.
 */
export const RANGE_BYTES = 64 << 20;
/** How far past a nominal split point a record boundary is looked for before giving that split up. */
const BOUNDARY_SEARCH = 1 << 20;
/** Formats whose records start at a line start (HL7: at a line starting with MSH). */
const SPLITTABLE: ReadonlySet<LeakFormat> = new Set(['csv', 'text', 'ndjson', 'sql', 'hl7']);

export interface Plan {
  units: WorkUnit[];
  skipped: SkippedFile[];
}

export async function planUnits(paths: readonly string[], rangeBytes = RANGE_BYTES): Promise<Plan> {
  const plan: Plan = { units: [], skipped: [] };
  const files: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) await collect(p, files, seen, plan.skipped);
  for (const f of files) planFile(f, plan, Math.max(1024, rangeBytes));
  plan.units.forEach((u, i) => (u.id = i));
  return plan;
}

async function collect(p: string, files: string[], seen: Set<string>, skipped: SkippedFile[]): Promise<void> {
  let st;
  try {
    st = await stat(p);
  } catch (e) {
    skipped.push({ file: p, reason: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    return;
  }
  if (st.isDirectory()) {
    const entries = (await readdir(p)).sort();
    for (const name of entries) {
      const child = path.join(p, name);
      const l = await lstat(child).catch(() => null);
      if (l?.isSymbolicLink() && (await stat(child).catch(() => null))?.isDirectory()) {
        skipped.push({ file: child, reason: 'symbolic link to a directory, not followed' });
        continue;
      }
      await collect(child, files, seen, skipped);
    }
    return;
  }
  if (!st.isFile()) {
    skipped.push({ file: p, reason: 'not a regular file' });
    return;
  }
  const real = await realpath(p).catch(() => p);
  if (seen.has(real)) return;
  seen.add(real);
  files.push(p);
}

function planFile(file: string, plan: Plan, rangeBytes: number): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    plan.skipped.push({ file, reason: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    return;
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, SNIFF_BYTES));
    readSync(fd, head, 0, head.length, 0);
    const sniffed = sniffFormat(file, head);
    const base = { id: 0, file, path: file };
    switch (sniffed.kind) {
      case 'binary':
        plan.skipped.push({ file, reason: sniffed.reason });
        return;
      case 'gzip':
        plan.units.push({ ...base, source: { kind: 'gzip' }, format: null, size });
        return;
      case 'zip':
        planZip(file, plan);
        return;
      case 'tar':
      case 'utf16':
        plan.units.push({ ...base, source: { kind: 'range', start: 0, end: size, header: null }, format: null, size });
        return;
      case 'text': {
        const format = { format: sniffed.format, delimiter: sniffed.delimiter };
        const cuts = SPLITTABLE.has(sniffed.format) ? splitPoints(fd, size, rangeBytes, sniffed.format === 'hl7') : [];
        const bounds = [0, ...cuts, size];
        const csvHeader = sniffed.format === 'csv' ? headerLength(head) : 0;
        let header: { start: number; length: number } | null = null;
        for (let i = 0; i + 1 < bounds.length; i++) {
          const start = bounds[i] as number;
          const end = bounds[i + 1] as number;
          if (start > 0 && csvHeader > 0) header = { start: 0, length: csvHeader };
          else if (start > 0 && sniffed.format === 'sql') {
            const before = sqlStatementBefore(fd, start, bounds[i - 1]);
            if (before !== undefined) header = before;
          }
          plan.units.push({ ...base, source: { kind: 'range', start, end, header }, format, size: end - start });
        }
        return;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function planZip(file: string, plan: Plan): void {
  let members;
  try {
    members = readZipDirectory(file);
  } catch (e) {
    plan.skipped.push({ file, reason: e instanceof ZipDamaged ? e.message : `zip: ${String(e)}` });
    return;
  }
  for (const m of members) {
    if (m.name.endsWith('/')) continue;
    const name = `${file}!${m.name}`;
    const ext = extensionOf(m.name);
    if (['zip', 'jar', 'docx', 'xlsx', 'odt', 'ods', '7z', 'rar', 'tar', 'tgz'].includes(ext)) {
      plan.skipped.push({ file: name, reason: 'archive inside an archive, not scanned: extract it and scan the result' });
      continue;
    }
    plan.units.push({ id: 0, file: name, path: file, source: { kind: 'zip', member: m }, format: null, size: m.compressedSize });
  }
}

/** Length of the first line with its line break, if it is short enough to be a header. */
function headerLength(head: Buffer): number {
  const lf = head.indexOf(0x0a);
  return lf < 0 ? 0 : lf + 1;
}

/** Offsets that start a record, about every RANGE_BYTES: just after a line break (HL7: before a line starting with MSH). */
function splitPoints(fd: number, size: number, rangeBytes: number, hl7: boolean): number[] {
  const cuts: number[] = [];
  const probe = Buffer.alloc(Math.min(BOUNDARY_SEARCH, rangeBytes));
  for (let nominal = rangeBytes; nominal < size; nominal += rangeBytes) {
    const from = nominal - 1;
    const n = readSync(fd, probe, 0, Math.min(probe.length, size - from), from);
    let at = -1;
    for (let i = 0; i < n - 1 && at < 0; i++) {
      const b = probe[i];
      if (b !== 0x0a && !(hl7 && b === 0x0d)) continue;
      if (!hl7 || probe.toString('latin1', i + 1, i + 4) === 'MSH') at = from + i + 1;
    }
    if (at > 0 && at < size && at > (cuts[cuts.length - 1] ?? 0)) cuts.push(at);
  }
  return cuts;
}
