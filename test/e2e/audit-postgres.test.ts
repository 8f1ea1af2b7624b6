import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../../src/audit/event-codec.js';
import { runCli } from '../support/cli.js';
import { ndjson, patient, serviceRequest, testTenant } from '../support/fhir-builders.js';
import { freshSchema, pgAvailable, PG_REQUIRED, PG_URL } from '../support/pg.js';

/** The audit log on PostgreSQL through the CLI: it verifies, proves, and catches an edited event. */
const pgUp = await pgAvailable();

describe.skipIf(!pgUp && !PG_REQUIRED)('audit log on PostgreSQL (CLI)', () => {
  let work: string;
  let schema: { schema: string; drop: () => Promise<void> };
  let env: NodeJS.ProcessEnv;
  let common: string[];
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lv-audit-pg-'));
    schema = await freshSchema();
    env = { LABVAULT_PG_SCHEMA: schema.schema, LABVAULT_AUDIT_CHECKPOINT_EVENTS: '3' };
    common = ['--data-dir', path.join(work, 'data'), '--database-url', PG_URL];
    const input = path.join(work, 'in');
    await mkdir(input);
    await writeFile(path.join(input, 'tenants.json'), JSON.stringify([testTenant('screening')]));
    await writeFile(path.join(input, 'a.ndjson'), ndjson([patient('screening', 'p1'), serviceRequest('screening', 'sr1', 'p1')]));
    expect((await runCli([...common, 'init'], env)).code).toBe(0);
    expect((await runCli([...common, 'ingest', input], env)).code).toBe(0);
    for (let i = 0; i < 4; i++)
      expect((await runCli([...common, 'patient', 'show', '--tenant', 'screening', '--id', 'p1'], env)).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await schema.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('verifies, proves an event against a signed root, then catches an edited event (triggers dropped by the attacker)', async () => {
    const ok = await runCli([...common, 'audit', 'verify', '--json'], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const proof = await runCli([...common, 'audit', 'prove', '--index', '2', '--json'], env);
    expect(JSON.parse(proof.stdout)).toMatchObject({ index: 2, verified: true });
    expect((JSON.parse(proof.stdout) as { checkpoint: string | null }).checkpoint).toMatch(/^labvault\.local\/audit\//);

    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`SET search_path TO ${schema.schema}`);
      await expect(client.query("UPDATE audit_events SET outcome = 'denied' WHERE seq = 4")).rejects.toThrow(/append-only/);
      await client.query('DROP TRIGGER audit_events_append_only ON audit_events');
      const { rows } = await client.query<{ event: Buffer }>('SELECT event FROM audit_events WHERE seq = 4');
      const d = decodeEvent(rows[0]!.event);
      await client.query('UPDATE audit_events SET event = $1 WHERE seq = 4', [
        encodeEvent(d.seq, d.prev, { ...d.event, outcome: 'denied' }),
      ]);
    } finally {
      await client.end();
    }
    const bad = await runCli([...common, 'audit', 'verify', '--json'], env);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, first_bad_index: 4 });
  });
});
