import { appendFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErasureLedger } from './erasure-ledger.js';

describe('ErasureLedger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-ledger-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends entries in order, 0600, and reads them back; no file is an empty ledger', async () => {
    const l = new ErasureLedger(path.join(dir, 'sub', 'erasures.ndjson'));
    expect(await l.entries()).toEqual([]);
    await l.append({ tenant: 'screening', patient: 'pat-1', at: '2026-11-29T06:00:00.000Z' });
    await l.append({ tenant: 'gp-network', patient: 'pat-2', at: '2026-11-29T06:01:00.000Z' });
    expect((await l.entries()).map((e) => e.patient)).toEqual(['pat-1', 'pat-2']);
    expect((await stat(l.file)).mode & 0o777).toBe(0o600);
  });

  it('passes over a line a crash cut short (later appends start a new line), refuses a malformed entry', async () => {
    const file = path.join(dir, 'erasures.ndjson');
    const l = new ErasureLedger(file);
    await l.append({ tenant: 'screening', patient: 'pat-1', at: 't' });
    await appendFile(file, '{"tenant":"scr');
    expect((await l.entries()).map((e) => e.patient)).toEqual(['pat-1']);
    await l.append({ tenant: 'screening', patient: 'pat-2', at: 't' });
    expect((await l.entries()).map((e) => e.patient)).toEqual(['pat-1', 'pat-2']);
    await writeFile(file, '{"tenant":"screening"}\n{"tenant":"screening","patient":"p","at":"t"}\n');
    await expect(l.entries()).rejects.toThrow(/line 1 is malformed/);
  });
});
