import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startBenchServer, type BenchServer } from '../../bench/bench-server.js';
import { httpGet } from '../../bench/http-get.js';
import { loadConfig } from '../../config.js';
import { openVault } from '../../compose.js';
import { operatorContext } from '../../domain/principal.js';
import type { ContainmentRow } from '../../ports/detection-store.js';
import { generateSyntheticLab } from '../../synth/generator.js';
import { DrillFailed } from '../drill-failed.js';
import { createCast, type Member } from './cast.js';
import { POLL_DAYS, POLL_PAGE_SIZE } from './legit-profiles.js';
import { buildReport, type ExfiltrationReport } from './report.js';
import { runScenario } from './scenario.js';
import { readWorklists } from './worklists.js';
import { cleanUpOnInterrupt } from '../../bench/interrupt-cleanup.js';

/**
 * `labvault drill exfiltration`: the detection engine against thieves with stolen credentials,
 * over real HTTP, next to the lab's own traffic. A fresh temporary vault (SQLite, local keyring)
 * gets a synthetic lab (seed 1) and canaries in every tenant; the lab's principals and the
 * victims get baselines; `labvault serve` runs as a child process with detection enforcing and
 * the baseline window set to W; then legitimate clients and every attack run together for 3 × W
 * seconds. Afterwards the server is stopped and the vault opened read-only: containments say who
 * was stopped and by which rule, and the audit log must verify. The temporary directory (vault,
 * keyring, plaintext synthetic files) is removed at the end, also on Ctrl-C.
 */
export interface ExfiltrationOptions {
  patients: number;
  /** Detection's baseline window (seconds); also sets the slow-and-low pace and the run length (3 × W). */
  windowSeconds: number;
  log?: (s: string) => void;
}

/** Patients with an order this recent are the lab's current work. */
const RECENT_DAYS = 30;
const SEED = 1;

export async function drillExfiltration(opts: ExfiltrationOptions): Promise<ExfiltrationReport> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-drill-'));
  let server: BenchServer | null = null;
  const release = cleanUpOnInterrupt(work, () => server);
  try {
    const dataDir = path.join(work, 'vault');
    const detectionFile = path.join(work, 'detection.json');
    await writeFile(detectionFile, JSON.stringify({ baseline: { windowSeconds: opts.windowSeconds } }));
    // The server and this process read the same settings.
    const env = { LABVAULT_DETECTION_MODE: 'enforce', LABVAULT_DETECTION_FILE: detectionFile };
    const config = loadConfig({ dataDir, keyProvider: 'local' }, env);

    log(`generating a synthetic lab of ${opts.patients} persons…`);
    const labDir = path.join(work, 'lab');
    await generateSyntheticLab({ patients: opts.patients, seed: SEED, outDir: labDir });
    const lab = await readWorklists(labDir, {
      recentDays: RECENT_DAYS,
      explainDays: config.detection.unexplained.recentDays,
      pollDays: POLL_DAYS,
      pageSize: POLL_PAGE_SIZE,
    });

    log('ingesting into a fresh vault, planting canaries, creating principals and their baselines…');
    const operator = operatorContext('drill', 'labvault-drill');
    let members: Member[];
    let canary: { tenant: string; id: string } | null = null;
    const vault = await openVault(config, { create: true });
    try {
      const ingested = await vault.ingest.ingest(operator, [labDir]);
      if (ingested.rejected > 0) throw new DrillFailed(`the synthetic lab did not load: ${ingested.rejected} records rejected`);
      // What the drill needs is in memory now; the plaintext files go before any client starts.
      await rm(labDir, { recursive: true, force: true });
      const perTenant = config.detection.canaries.perTenant;
      if (perTenant > 0) for (const t of lab.tenants.keys()) await vault.canaries.plantTenant(operator, t, perTenant);
      members = await createCast(vault, operator, lab, { windowSeconds: opts.windowSeconds, seed: SEED });
      const canaryTenant = members.find((m) => m.attack === 'canary-touch')?.tenant ?? null;
      if (canaryTenant !== null) {
        const sets = await vault.canaries.unsealedSets(canaryTenant);
        const id = sets.find((s) => s.set.copyKind === 'tenant')?.patients[0]?.id;
        if (id !== undefined) canary = { tenant: canaryTenant, id };
      }
    } finally {
      await vault.close();
    }
    await rm(labDir, { recursive: true, force: true });

    log(`starting the server (labvault serve, child process, detection enforce, window ${opts.windowSeconds} s)…`);
    server = await startBenchServer({ dataDir, nodeArgs: [], rateLimitPerMin: config.api.rateLimitPerMinute, env });
    const base = server.base;
    const probe = await httpGet(base, '/healthz', {});
    if (probe.status !== 200) throw new DrillFailed(`the server's /healthz answered ${probe.status}`);

    const legitCount = members.filter((m) => m.attack === null).length;
    log(`running ${legitCount} legitimate clients and the attacks for ${3 * opts.windowSeconds} s…`);
    const run = await runScenario({ base, members, lab, canary, windowSeconds: opts.windowSeconds, log });
    const metrics = await httpGet(base, '/metrics', {});

    log('stopping the server, verifying the audit log…');
    await server.stop();
    server = null;
    const after = await openVault(config, { auditReadOnly: true });
    let containments: ContainmentRow[];
    let verified: boolean;
    let events: number;
    try {
      containments = await after.store.listContainments();
      verified = (await after.audit.verify()).ok;
      events = (await after.store.auditHead()).size;
    } finally {
      await after.close();
    }
    return buildReport({
      patients: opts.patients,
      windowSeconds: opts.windowSeconds,
      members,
      run,
      containments,
      metricsText: metrics.status === 200 ? metrics.body : '',
      auditVerified: verified,
      auditEvents: events,
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    release();
    if (server) await server.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
