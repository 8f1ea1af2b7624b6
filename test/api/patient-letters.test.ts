import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../../src/domain/principal.js';
import type { Tenant } from '../../src/domain/tenant.js';
import { privateKey } from '../../src/incidents/recipient-key.js';
import { openSealedBundle } from '../../src/incidents/sealed-bundle.js';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';

/**
 * Patient letters: one per affected patient of each controller, worded for its cohort, Dutch then
 * English, one PDF per patient and a print file per controller — sealed to the controller's key,
 * so no letter exists in plaintext on disk until the key holder opens the bundle. The PDFs are
 * checked with poppler's pdftotext and qpdf, as a print house would open them.
 */
const OP = operatorContext('officer', 'letters-test');

describe('patient letters', () => {
  let f: ApiFixture;
  let dir: string;
  let incident: string;
  let keys: Map<string, { pub: JWK; priv: JWK }>;
  const received = new Map<string, Set<string>>();
  let thief: { id: string; token: string };
  let orderOnly = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-letters-'));
    f = await apiFixture({ patients: 80 });
    keys = new Map();
    const tenants = await f.vault.store.listTenants();
    for (const t of tenants) {
      const { publicKey, privateKey: pk } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
      keys.set(t.id, { pub: await exportJWK(publicKey), priv: await exportJWK(pk) });
    }
    await f.vault.ingest.importTenants(
      OP,
      tenants.map((t): Tenant => ({ ...t, publicKeyJwk: { ...(keys.get(t.id)?.pub as JWK) } })),
    );
    thief = await f.principal('pathologist', ['screening', 'hospital-west']);
    for (const [tenant, n] of [
      ['screening', 4],
      ['hospital-west', 3],
    ] as const)
      for (const p of (f.lab.patients.get(tenant) as string[]).slice(0, n)) {
        const r = await f.app.inject({
          url: `/fhir/Patient/${p}`,
          headers: { authorization: `Bearer ${thief.token}`, 'x-purpose-of-use': 'TREAT', 'x-tenant': tenant },
          remoteAddress: '10.40.0.1',
        });
        expect(r.statusCode).toBe(200);
        if (!received.has(tenant)) received.set(tenant, new Set());
        received.get(tenant)?.add(r.json<{ id: string }>().id);
      }
    // One more screening patient, of whom the thief saw only an order: its letter names only that.
    const firstFour = new Set((f.lab.patients.get('screening') as string[]).slice(0, 4));
    for (const sr of f.lab.resources.get('screening')?.get('ServiceRequest') ?? []) {
      const r = await f.app.inject({
        url: `/fhir/ServiceRequest/${sr}`,
        headers: { authorization: `Bearer ${thief.token}`, 'x-purpose-of-use': 'TREAT', 'x-tenant': 'screening' },
        remoteAddress: '10.40.0.1',
      });
      expect(r.statusCode).toBe(200);
      const subject = /^Patient\/(.+)$/.exec(r.json<{ subject: { reference: string } }>().subject.reference)?.[1] as string;
      if (firstFour.has(subject)) continue;
      received.get('screening')?.add(subject);
      orderOnly = subject;
      break;
    }
    incident = (
      await f.vault.incidents.open(OP, { title: 'stolen account', types: ['confidentiality'], tenants: ['screening', 'hospital-west'] })
    ).id;
    await f.vault.incidents.scope(OP, incident, { principals: [thief.id] });
  });
  afterAll(async () => {
    await f.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(file: string, tenant: string): Promise<Map<string, Buffer>> {
    const { key } = await privateKey(keys.get(tenant)?.priv as JWK);
    const files = new Map<string, Buffer[]>();
    let current = '';
    await openSealedBundle(file, key, {
      header: () => undefined,
      file: (n) => files.set((current = n), []),
      data: (c) => files.get(current)?.push(Buffer.from(c)),
    });
    return new Map([...files].map(([n, c]) => [n, Buffer.concat(c)]));
  }

  function pdfText(pdf: Buffer, name: string): string {
    const file = path.join(dir, name);
    execFileSync('sh', ['-c', 'cat > "$0"', file], { input: pdf });
    execFileSync('qpdf', ['--check', file], { stdio: 'pipe' });
    return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  }

  it('writes one letter per affected patient per controller, sealed, with nothing readable on disk', async () => {
    const out = path.join(dir, 'out');
    const r = await f.vault.letters.generate(OP, incident, out, { lab: 'Voorbeeldlab BV', phone: '088 123 4567' });
    expect(r.tenants.map((t) => [t.tenant, t.letters])).toEqual([
      ['hospital-west', 3],
      ['screening', 5],
    ]);
    expect(r.letters).toBe(8);
    const names = (await readdir(out)).sort();
    expect(names).toEqual([
      `${incident}-hospital-west.letters.lvb`,
      `${incident}-hospital-west.print.lvb`,
      `${incident}-screening.letters.lvb`,
      `${incident}-screening.print.lvb`,
    ]);
    // No family name, street or postcode of any patient in the lab appears in the bundles.
    const people = await f.vault.reader.patientsByIds(OP, 'screening', f.lab.patients.get('screening') as string[]);
    for (const n of names) {
      expect((await stat(path.join(out, n))).mode & 0o777).toBe(0o600);
      const bytes = (await readFile(path.join(out, n))).toString('latin1');
      for (const p of people) {
        const name = (p.name as { family: string }[])[0]?.family as string;
        const addr = (p.address as { line: string[]; postalCode: string }[])[0];
        expect(bytes).not.toContain(name);
        expect(bytes).not.toContain(addr?.line[0]);
        expect(bytes).not.toContain(addr?.postalCode);
      }
    }
    // The incident keeps the artifacts; the letters obligation is drafted.
    const kinds = ((await f.vault.incidents.get(incident)).doc.artifacts as { kind: string; tenant: string }[]).map(
      (a) => `${a.kind}:${a.tenant}`,
    );
    expect(kinds).toEqual(expect.arrayContaining(['patient-letters:screening', 'letters-print-file:screening']));
  });

  it('opens with the controller’s key into per-patient PDFs and a print file, each for exactly its own patients', async () => {
    const out = path.join(dir, 'out');
    for (const tenant of ['screening', 'hospital-west']) {
      const letters = await open(path.join(out, `${incident}-${tenant}.letters.lvb`), tenant);
      const own = received.get(tenant) as Set<string>;
      const patients = [...letters.keys()].map((n) => n.replace(/^\d{7}-/, '').replace(/\.pdf$/, ''));
      expect(patients.sort()).toEqual([...own].sort());
      const [first] = [...letters.entries()];
      const pid = (first?.[0] ?? '').replace(/^\d{7}-/, '').replace(/\.pdf$/, '');
      const [person] = await f.vault.reader.patientsByIds(OP, tenant, [pid]);
      const text = pdfText(first?.[1] as Buffer, `${tenant}-one.pdf`);
      const family = (person?.name as { family: string }[])[0]?.family ?? '';
      expect(text).toContain(family);
      expect(text).toContain((person?.address as { postalCode: string }[])[0]?.postalCode ?? '');
      expect(text).toContain('Iemand heeft uw gegevens bekeken zonder dat dit mocht');
      expect(text).toContain('Someone looked at your data without permission');
      expect(text).toContain('Klik niet op links');
      expect(text).toContain('Do not click on links');
      expect(text).toContain('088 123 4567');
      expect(text).toContain(`${incident} / ${pid}`);
      const print = await open(path.join(out, `${incident}-${tenant}.print.lvb`), tenant);
      expect([...print.keys()]).toEqual([`${incident}-${tenant}-print.pdf`]);
      const printText = pdfText([...print.values()][0] as Buffer, `${tenant}-print.pdf`);
      for (const p of own) expect(printText).toContain(`${incident} / ${p}`);
      // Another controller's patient is never in this controller's letters.
      for (const [other, set] of received) if (other !== tenant) for (const p of set) expect(printText).not.toContain(p);
      const pages = Number(
        /Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [path.join(dir, `${tenant}-print.pdf`)], { encoding: 'utf8' }))?.[1],
      );
      expect(pages % 2).toBe(0);
      expect(pages).toBeGreaterThanOrEqual(own.size * 2);
    }
  });

  it('names in each letter only the data that patient’s own events released', async () => {
    const letters = await open(path.join(dir, 'out', `${incident}-screening.letters.lvb`), 'screening');
    const name = [...letters.keys()].find((n) => n.endsWith(`-${orderOnly}.pdf`)) as string;
    const only = pdfText(letters.get(name) as Buffer, 'order-only.pdf');
    expect(only).toContain('welk onderzoek is aangevraagd');
    expect(only).not.toContain('burgerservicenummer');
    const other = [...letters.entries()].find(([n]) => n !== name) as [string, Buffer];
    const full = pdfText(other[1], 'full.pdf');
    expect(full).toContain('uw burgerservicenummer (BSN)');
    expect(full).not.toContain('welk onderzoek is aangevraagd');
  });

  it('words the letter for its cohort: cannot be excluded when the whole store was taken', async () => {
    const whole = (
      await f.vault.incidents.open(OP, { title: 'database copy taken', types: ['confidentiality'], tenants: ['private-clinic'] })
    ).id;
    await f.vault.incidents.scope(OP, whole, { wholeStore: { keysTaken: true }, tenants: ['private-clinic'] });
    const out = path.join(dir, 'whole');
    const r = await f.vault.letters.generate(OP, whole, out, { lab: 'Voorbeeldlab BV' });
    expect(r.tenants.map((t) => t.tenant)).toEqual(['private-clinic']);
    const t = r.tenants[0];
    expect(t?.by_cohort['cannot-be-excluded']).toBe(t?.letters);
    const letters = await open(path.join(out, `${whole}-private-clinic.letters.lvb`), 'private-clinic');
    expect(letters.size).toBe(t?.letters);
    const text = pdfText([...letters.values()][0] as Buffer, 'whole-one.pdf');
    expect(text).toContain('maar we kunnen het niet uitsluiten');
    expect(text).toContain('we cannot rule it out');
    expect(text).not.toContain('Dit weten we zeker');
  });

  it('refuses a wrong key, a flipped byte and a cut-off bundle, releasing no letter', async () => {
    const file = path.join(dir, 'out', `${incident}-screening.letters.lvb`);
    await expect(open(file, 'hospital-west')).rejects.toThrow(/cannot be opened/);
    const bytes = await readFile(file);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40] = (flipped[flipped.length - 40] as number) ^ 1;
    await writeFile(path.join(dir, 'flipped.lvb'), flipped);
    const seen: string[] = [];
    const { key } = await privateKey(keys.get('screening')?.priv as JWK);
    await expect(
      openSealedBundle(path.join(dir, 'flipped.lvb'), key, { header: () => undefined, file: (n) => seen.push(n), data: () => undefined }),
    ).rejects.toThrow(/fails its check/);
    expect(seen).toEqual([]);
    await writeFile(path.join(dir, 'cut.lvb'), bytes.subarray(0, bytes.length - 100));
    await expect(open(path.join(dir, 'cut.lvb'), 'screening')).rejects.toThrow(/truncated/);
  });

  it('refuses to run without a scope, a controller key, or a keeper, and never overwrites', async () => {
    const fresh = (await f.vault.incidents.open(OP, { title: 'unscoped', types: ['confidentiality'], tenants: ['screening'] })).id;
    await expect(f.vault.letters.generate(OP, fresh, path.join(dir, 'x'), { lab: 'L' })).rejects.toThrow(/scope/);
    const tech = { ...OP, principal: { id: 't', role: 'lab-technician' as const, tenants: ['*'] }, local: false };
    await expect(f.vault.letters.generate(tech, incident, path.join(dir, 'x'), { lab: 'L' })).rejects.toThrow(/security officer/);
    await expect(f.vault.letters.generate(OP, incident, path.join(dir, 'out'), { lab: 'L' })).rejects.toThrow(/EEXIST|exists/);
    await expect(f.vault.letters.generate(OP, incident, path.join(dir, 'y'), { lab: 'L', phone: 'call me' })).rejects.toThrow(/phone/);
  });
});
