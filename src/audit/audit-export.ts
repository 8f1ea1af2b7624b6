import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { AuditStore } from '../ports/audit-store.js';
import type { AuditLog } from './audit-log.js';

/**
 * Writes what the standalone verifier needs into a new directory: events.ndjson (each event's
 * canonical bytes on one line), checkpoints/ (the stored notes and the witness copies) and
 * vkey.txt. Checkpoints are read before the events, so events appended meanwhile are merely
 * unsigned in the export, never "missing" below a checkpoint it holds.
 */
export interface AuditExportSummary {
  out: string;
  events: number;
  checkpoints: number;
  vkey: string;
}

const NEWLINE = Buffer.from('\n');
const pad = (n: number): string => String(n).padStart(16, '0');

export async function exportAuditLog(store: AuditStore, audit: AuditLog, dir: string): Promise<AuditExportSummary> {
  const stored = await store.listCheckpoints();
  const witnessed = await audit.witness.list();
  await fs.mkdir(path.join(dir, 'checkpoints'), { recursive: true, mode: 0o700 });
  const out = await fs.open(path.join(dir, 'events.ndjson'), 'wx', 0o600);
  let events = 0;
  try {
    // Every stored row from the lowest seq, in guaranteed order: a stray row must fail the
    // standalone verifier exactly as it fails `audit verify`.
    for await (const page of store.readAuditNdjson()) {
      await out.write(Buffer.concat([page, NEWLINE]));
      for (let i = page.indexOf(0x0a); i >= 0; i = page.indexOf(0x0a, i + 1)) events++;
      events++;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  for (const c of stored) await fs.writeFile(path.join(dir, 'checkpoints', `store-${pad(c.size)}.checkpoint`), c.note, { flag: 'wx' });
  for (const w of witnessed)
    await fs.writeFile(path.join(dir, 'checkpoints', w.source.replace(/[^A-Za-z0-9.-]/g, '_')), w.note, { flag: 'wx' });
  await fs.writeFile(path.join(dir, 'vkey.txt'), `${audit.verifierKey}\n`, { flag: 'wx' });
  return { out: path.resolve(dir), events, checkpoints: stored.length + witnessed.length, vkey: audit.verifierKey };
}
