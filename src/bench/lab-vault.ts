import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { openVault, type Vault } from '../compose.js';
import { operatorContext, type AccessContext } from '../domain/principal.js';
import { generateSyntheticLab } from '../synth/generator.js';
import { BenchFailed } from './bench-failed.js';
import { cleanUpOnInterrupt } from './interrupt-cleanup.js';

/**
 * A fresh temporary vault (SQLite, local keyring, detection off) holding a synthetic lab, for the
 * benchmarks that work on a whole lab (letters, leak). `readLab` sees the synthetic NDJSON before
 * it is deleted (the plaintext files never outlive the set-up). Peak RSS is sampled from the start.
 * `close` removes everything; Ctrl-C does too.
 */
export interface LabVault {
  vault: Vault;
  operator: AccessContext;
  /** The temporary directory (for the benchmark's own scratch files). */
  work: string;
  /** The vault's data directory (SQLite file and keyring), for a CLI the benchmark runs on it. */
  dataDir: string;
  peakRssMb(): number;
  close(): Promise<void>;
}

export async function openLabVault(o: {
  prefix: string;
  patients: number;
  log: (s: string) => void;
  readLab?: (labDir: string) => Promise<void>;
}): Promise<LabVault> {
  const work = await mkdtemp(path.join(os.tmpdir(), o.prefix));
  const release = cleanUpOnInterrupt(work, () => null);
  let peak = process.memoryUsage().rss;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
  const operator = operatorContext('bench', 'labvault-bench');
  let vault: Vault | null = null;
  const close = async (): Promise<void> => {
    clearInterval(sample);
    try {
      await vault?.close();
    } finally {
      release();
      await rm(work, { recursive: true, force: true });
    }
  };
  try {
    const dataDir = path.join(work, 'vault');
    const config = loadConfig({ dataDir, keyProvider: 'local' }, { LABVAULT_DETECTION_MODE: 'off' });
    vault = await openVault(config, { create: true });
    o.log(`generating and ingesting a synthetic lab of ${o.patients} persons…`);
    const labDir = path.join(work, 'lab');
    await generateSyntheticLab({ patients: o.patients, seed: 1, outDir: labDir });
    const ingested = await vault.ingest.ingest(operator, [labDir]);
    if (ingested.rejected > 0) throw new BenchFailed(`the synthetic lab did not load: ${ingested.rejected} records rejected`);
    if (o.readLab) await o.readLab(labDir);
    await rm(labDir, { recursive: true, force: true });
    const v = vault;
    return { vault: v, operator, work, dataDir, peakRssMb: () => Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20), close };
  } catch (e) {
    await close();
    throw e;
  }
}
