import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqlStatementBefore } from './sql-statement-before.js';

/**
 * A range of a SQL dump that starts among COPY rows learns their columns from the COPY line,
 * however the backwards read's 1 MiB blocks fall — also with a block boundary inside that line.
 */
const MIB = 1 << 20;
const dir = mkdtempSync(path.join(os.tmpdir(), 'lv-sqlbefore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlStatementBefore', () => {
  it('finds the COPY line for every range start whose first block begins inside it', () => {
    const head = `${'-- filler\n'.repeat(10_000)}`;
    const copy = 'COPY public.patient (id, bsn, naam, geboren, postcode) FROM stdin;\n';
    const rows = '1\t123456782\tJan de Vries\t1980-03-12\t1234 AB\n'.repeat(Math.ceil((2 * MIB) / 48));
    const file = path.join(dir, 'copy.sql');
    writeFileSync(file, head + copy + rows);
    const fd = openSync(file, 'r');
    try {
      const at = head.length;
      // Range starts whose first backwards block starts before, inside and after the COPY line.
      for (let pos = at + MIB - 3; pos <= at + copy.length + MIB + 3; pos++)
        expect(sqlStatementBefore(fd, pos), `range start ${pos}`).toEqual({ start: at, length: copy.length });
      expect(sqlStatementBefore(fd, at + 1.5 * MIB)).toEqual({ start: at, length: copy.length });
    } finally {
      closeSync(fd);
    }
  });

  it('finds nothing for a range after the end of a COPY block or a finished statement', () => {
    const file = path.join(dir, 'ended.sql');
    const before = `COPY p (bsn) FROM stdin;\n123456782\n\\.\nINSERT INTO p (bsn) VALUES ('1');\n`;
    writeFileSync(file, `${before}${'-- x\n'.repeat(300_000)}`);
    const fd = openSync(file, 'r');
    try {
      expect(sqlStatementBefore(fd, before.length + MIB + 7)).toBeNull();
      expect(sqlStatementBefore(fd, before.length + 10)).toBeNull();
    } finally {
      closeSync(fd);
    }
  });
});
