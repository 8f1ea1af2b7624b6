import { mkdtemp, rm } from 'node:fs/promises';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { exportAuditLog } from '../audit/audit-export.js';
import { readCheckpointDir, readEventLines } from '../audit/verifier/standalone.js';
import { verifyLog } from '../audit/verifier/verify-log.js';
import { openVault } from '../compose.js';
import type { AuditFacts, DataCategory } from '../domain/audit-event.js';
import type { AccessContext } from '../domain/principal.js';
import { openTunedSqlite } from './plain-json-sink.js';
import { Prng } from '../synth/prng.js';
import { stat } from 'node:fs/promises';

/**
 * `labvault bench audit`: appends N read-shaped events (one patient each, a realistic mix of
 * principals, tenants and categories) to a fresh SQLite vault's audit log in batches, with a
 * signed checkpoint (store + witness file, fsynced) at least every second; then, in the same run,
 * inserts the same canonical bytes into a plain table under the same SQLite settings (the
 * baseline), verifies the whole log with the standalone verifier, and times inclusion proofs at
 * random indexes against the final size.
 */
export interface AuditBenchResult {
  events: number;
  append_per_s: number;
  baseline_insert_per_s: number;
  /** `labvault audit verify`: events read from the database, then the standalone verifier. */
  verify_per_s: number;
  /** The standalone verifier over an export (events.ndjson), as an auditor runs it. */
  verify_export_per_s: number;
  proof_ms: number;
  checkpoints: number;
  /** Longest time between two signed checkpoints (from the start of the append run). */
  checkpoint_max_gap_s: number;
  batch: number;
  seconds: { append: number; baseline: number; verify: number; verify_export: number };
  verified: boolean;
  db_mb: number;
}

const TENANTS = ['screening', 'amc-hospital', 'gp-network', 'clinic-oost', 'regio-lab'];
const ROLES = ['pathologist', 'lab-technician', 'controller-system', 'support'] as const;
const CATEGORIES: DataCategory[][] = [
  ['clinical-result', 'follow-up-advice'],
  ['identity', 'national-id', 'contact', 'demographics'],
  ['clinical-result'],
  ['specimen'],
];

export async function benchAudit(opts: { events: number; batch?: number; log?: (s: string) => void }): Promise<AuditBenchResult> {
  const log = opts.log ?? (() => undefined);
  const batch = opts.batch ?? 1000;
  const work = await mkdtemp(path.join(os.tmpdir(), 'labvault-bench-audit-'));
  try {
    // 700 ms after the first unsigned event, so that with checking and signing the gap stays under a second.
    // LABVAULT_AUDIT_JOURNAL passes through, so the journal's cost can be measured (0: off).
    const journal = process.env.LABVAULT_AUDIT_JOURNAL;
    const env = {
      LABVAULT_AUDIT_CHECKPOINT_MS: '700',
      LABVAULT_AUDIT_CHECKPOINT_EVENTS: '10000000',
      ...(journal !== undefined ? { LABVAULT_AUDIT_JOURNAL: journal } : {}),
    };
    const config = loadConfig({ dataDir: path.join(work, 'vault'), keyProvider: 'local' }, env);
    const vault = await openVault(config, { create: true });
    let appendSeconds = 0;
    try {
      const prng = new Prng(7);
      const contexts: AccessContext[] = Array.from({ length: 50 }, (_, i) => ({
        principal: {
          id: `principal-${i}`,
          role: ROLES[i % ROLES.length] as (typeof ROLES)[number],
          tenants: [TENANTS[i % TENANTS.length] as string],
        },
        purpose: 'TREAT',
        origin: { ip: `10.0.${i % 8}.${i}`, userAgent: 'fhir-client/1.0', requestId: null },
      }));
      log(`append: ${opts.events} events in batches of ${batch}, checkpoint ≥ every second…`);
      const started = process.hrtime.bigint();
      const appendStartedAt = Date.now();
      for (let done = 0; done < opts.events;) {
        const n = Math.min(batch, opts.events - done);
        const events = [];
        for (let k = 0; k < n; k++) {
          const ctx = contexts[Math.floor(prng.next() * contexts.length)] as AccessContext;
          const tenant = ctx.principal.tenants[0] as string;
          const facts: AuditFacts = {
            action: 'resource.read',
            tenant,
            patients: [`pat-${Math.floor(prng.next() * 1e9).toString(36)}`],
            categories: CATEGORIES[k % CATEGORIES.length],
            records: 1 + (k % 4),
            bytes: 800 + (k % 900),
          };
          events.push(vault.audit.event(ctx, facts));
        }
        await vault.audit.record(events);
        done += n;
        if (done % (batch * 200) === 0) log(`  ${done} events`);
      }
      await vault.audit.checkpoint();
      appendSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const head = await vault.store.auditHead();
      const stored = await vault.store.listCheckpoints();
      const checkpoints = stored.length;
      const times = [appendStartedAt, ...stored.map((c) => Date.parse(c.createdAt))];
      let maxGap = 0;
      for (let k = 1; k < times.length; k++) maxGap = Math.max(maxGap, (times[k] as number) - (times[k - 1] as number));

      log('baseline: the same bytes into a plain table…');
      const plain = openTunedSqlite(path.join(work, 'plain.db'), 'FULL');
      plain.exec('CREATE TABLE events (seq INTEGER PRIMARY KEY, event BLOB NOT NULL)');
      const insert = plain.prepare('INSERT INTO events (seq, event) VALUES (?, ?)');
      const write = plain.transaction((rows: Buffer[], from: number) => {
        for (let k = 0; k < rows.length; k++) insert.run(from + k, rows[k]);
      });
      // Read in the same batches first (untimed), then time only the inserts.
      let baselineNs = 0n;
      let seq = 0;
      let chunk: Buffer[] = [];
      const flush = (): void => {
        const t = process.hrtime.bigint();
        write(chunk, seq);
        baselineNs += process.hrtime.bigint() - t;
        seq += chunk.length;
        chunk = [];
      };
      for await (const page of vault.store.readAuditEvents(0, head.size)) {
        for (const e of page) {
          chunk.push(e);
          if (chunk.length === batch) flush();
        }
      }
      if (chunk.length > 0) flush();
      plain.close();
      const baselineSeconds = Number(baselineNs) / 1e9;

      log('verify: standalone verifier over the whole log…');
      const v0 = process.hrtime.bigint();
      const verified = await vault.audit.verify(vault.audit.verifierKey, { workers: Math.min(4, availableParallelism()) });
      const verifySeconds = Number(process.hrtime.bigint() - v0) / 1e9;

      log('verify: standalone verifier over an export…');
      const exported = await exportAuditLog(vault.store, vault.audit, path.join(work, 'export'));
      const x0 = process.hrtime.bigint();
      const fromExport = await verifyLog({
        events: readEventLines(path.join(exported.out, 'events.ndjson')),
        checkpoints: await readCheckpointDir(path.join(exported.out, 'checkpoints')),
        verifierKey: exported.vkey,
        workers: Math.min(4, availableParallelism()),
      });
      const exportSeconds = Number(process.hrtime.bigint() - x0) / 1e9;

      log('inclusion proofs at random indexes…');
      const proofs = 2000;
      let proofNs = 0n;
      for (let k = 0; k < proofs; k++) {
        const index = Math.floor(prng.next() * head.size);
        const t = process.hrtime.bigint();
        await vault.audit.inclusionProof(index, head.size);
        proofNs += process.hrtime.bigint() - t;
      }
      const dbBytes = config.database.kind === 'sqlite' ? (await stat(config.database.file)).size : 0;
      return {
        events: head.size,
        append_per_s: Math.round(opts.events / appendSeconds),
        baseline_insert_per_s: Math.round(head.size / baselineSeconds),
        verify_per_s: Math.round(verified.events / verifySeconds),
        verify_export_per_s: Math.round(fromExport.events / exportSeconds),
        proof_ms: Math.round((Number(proofNs) / 1e6 / proofs) * 1000) / 1000,
        checkpoints,
        checkpoint_max_gap_s: round(maxGap / 1000),
        batch,
        seconds: {
          append: round(appendSeconds),
          baseline: round(baselineSeconds),
          verify: round(verifySeconds),
          verify_export: round(exportSeconds),
        },
        verified: verified.ok && fromExport.ok,
        db_mb: Math.round(dbBytes / 1e6),
      };
    } finally {
      await vault.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
