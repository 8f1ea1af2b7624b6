import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, IntegrityViolation } from '../domain/errors.js';

export interface ErasureEntry {
  tenant: string;
  patient: string;
  at: string;
}

/**
 * Crypto-shredded patients, one JSON line each, kept outside the database and outside every
 * backup: a backup taken before an erasure still holds the patient's wrapped DEK, so restoring it
 * would bring the patient back unless the restore shreds again what this ledger lists. An entry is
 * written and synced before the erasure commits (an intent: a crash in between re-applies an
 * erasure that was asked for). Patient ids are pseudonymous; no identifier is written.
 */
export class ErasureLedger {
  constructor(readonly file: string) {}

  async append(entry: ErasureEntry): Promise<void> {
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const h = await fs.open(this.file, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND, 0o600);
      try {
        // After a line a crash cut short, start on a new line: the torn one stays on its own.
        const { size } = await h.stat();
        const last = Buffer.alloc(1);
        const torn = size > 0 && (await h.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] !== 0x0a;
        await h.writeFile(`${torn ? '\n' : ''}${JSON.stringify({ tenant: entry.tenant, patient: entry.patient, at: entry.at })}\n`);
        await h.sync();
      } finally {
        await h.close();
      }
    } catch (cause) {
      throw new ConfigurationError(`cannot write the erasure ledger ${this.file}`, { cause });
    }
  }

  /** Every entry in order; a torn line (a crash while appending) is passed over, a malformed entry refused. */
  async entries(): Promise<ErasureEntry[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ConfigurationError(`cannot read the erasure ledger ${this.file}`, { cause: e });
    }
    const lines = text.split('\n');
    // After the last newline: '' normally, or the torn part of a line a crash cut short.
    lines.pop();
    const out: ErasureEntry[] = [];
    lines.forEach((line, i) => {
      if (line === '') return;
      let e: Partial<ErasureEntry>;
      try {
        e = JSON.parse(line) as Partial<ErasureEntry>;
      } catch {
        // A line a crash cut short (append starts a new line after one): it erased nothing.
        return;
      }
      if (typeof e.tenant !== 'string' || typeof e.patient !== 'string' || typeof e.at !== 'string')
        throw new IntegrityViolation(`erasure ledger line ${i + 1} is malformed`);
      out.push({ tenant: e.tenant, patient: e.patient, at: e.at });
    });
    return out;
  }
}
