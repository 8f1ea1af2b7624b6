import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Prng } from '../synth/prng.js';
import { lastAround, lastByForward, sqlStatementBefore } from './sql-statement-before.js';

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

  it('reads back only to the previous range and agrees with a search from the file start', () => {
    const prng = new Prng(3);
    let text = '';
    while (text.length < 6 * MIB) {
      const k = prng.int(4);
      if (k === 0) text += `INSERT INTO p (bsn, naam) VALUES\n${"('123456782', 'x'),\n".repeat(prng.int(40_000))}('1', 'y');\n`;
      else if (k === 1) text += `COPY public.p${prng.int(9)} (id, bsn) FROM stdin;\n${'7\t123456782\n'.repeat(prng.int(60_000))}\\.\n`;
      else if (k === 2) text += `-- comment ${'z'.repeat(prng.int(3000))}\n`;
      else text += `CREATE TABLE t${prng.int(9)} (a int);\n`;
    }
    const file = path.join(dir, 'mixed.sql');
    writeFileSync(file, text);
    const fd = openSync(file, 'r');
    try {
      const starts = Array.from({ length: 40 }, () => 1 + prng.int(text.length - 1)).sort((a, b) => a - b);
      let header: ReturnType<typeof sqlStatementBefore> = null;
      let floor = 0;
      let inherited = 0;
      for (const start of starts) {
        const before = sqlStatementBefore(fd, start, floor);
        if (before === undefined) inherited++;
        else header = before;
        expect(header, `range start ${start}`).toEqual(sqlStatementBefore(fd, start));
        floor = start;
      }
      expect(inherited).toBeGreaterThan(0);
    } finally {
      closeSync(fd);
    }
  });

  it('finds a marker by its rare byte, or by forward searches, exactly where lastIndexOf finds it', () => {
    const prng = new Prng(8);
    const alphabet = Buffer.from(';\n\\.xCOPY ');
    for (let round = 0; round < 20_000; round++) {
      let text = Buffer.from(Array.from({ length: prng.int(60) }, () => alphabet[prng.int(alphabet.length)] as number)).toString('latin1');
      // Whole and cut markers at random places, so each search meets hits, near misses and the ends.
      for (const piece of ['\nCOPY ', '\nCOPY', 'COPY ', ';\n', '\n\\.', '\n\\'])
        if (prng.chance(0.3)) {
          const at = prng.int(text.length + 1);
          text = text.slice(0, at) + piece + text.slice(at);
        }
      const view = Buffer.from(text, 'latin1');
      expect(lastAround(view, 0x3b, 0, Buffer.from(';\n'))).toBe(view.lastIndexOf(';\n'));
      expect(lastAround(view, 0x5c, 1, Buffer.from('\n\\.'))).toBe(view.lastIndexOf('\n\\.'));
      expect(lastAround(view, 0x59, 4, Buffer.from('\nCOPY '))).toBe(view.lastIndexOf('\nCOPY '));
      expect(lastByForward(view, Buffer.from('\nC;'))).toBe(view.lastIndexOf('\nC;'));
      expect(lastByForward(view, Buffer.from(';;'))).toBe(view.lastIndexOf(';;'));
      // With the rare byte not rare: past `limit` occurrences the search goes forwards, same answer.
      expect(lastAround(view, 0x3b, 0, Buffer.from(';\n'), 1)).toBe(view.lastIndexOf(';\n'));
      expect(lastAround(view, 0x43, 1, Buffer.from('\nCOPY '), 2)).toBe(view.lastIndexOf('\nCOPY '));
    }
  });
});
