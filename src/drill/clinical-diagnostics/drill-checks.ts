import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { compactDecrypt, type JWK } from 'jose';
import { privateKey } from '../../incidents/recipient-key.js';
import type { Scope } from '../../incidents/scope.js';
import { openSealedBundle } from '../../incidents/sealed-bundle.js';
import type { PackageSubject } from '../../incidents/controller-package.js';
import type { WrittenArtifact } from '../../services/incident-notices.js';

/**
 * What the drill checks after the response, each failure a line in `problems`: the scope is
 * exactly what the thief received (its own tally, canaries apart); each controller's package
 * opens with that controller's key and lists exactly its own people in scope; each letters bundle
 * holds one letter per affected patient; and no BSN from the packages (nor a sample of their names
 * and streets) appears in any file of the artifacts directory. Packages and letters are opened in
 * memory only.
 */
const SAMPLE = 300;

export interface CheckInput {
  scope: Scope;
  received: ReadonlyMap<string, ReadonlySet<string>>;
  canaries: ReadonlyMap<string, ReadonlySet<string>>;
  keys: ReadonlyMap<string, JWK>;
  packages: readonly WrittenArtifact[];
  letters: readonly WrittenArtifact[];
  artifactsDir: string;
}

export interface CheckResult {
  scope_exact: boolean;
  packages_exact: boolean;
  letters_exact: boolean;
  plaintext_found: number;
  problems: string[];
}

export async function checkResponse(i: CheckInput): Promise<CheckResult> {
  const problems: string[] = [];
  let scopeExact = true;
  const tenants = new Set([...i.received.keys(), ...i.scope.tenants.map((t) => t.tenant)]);
  for (const t of tenants) {
    const canaries = i.canaries.get(t) ?? new Set<string>();
    const got = [...(i.received.get(t) ?? [])].filter((p) => !canaries.has(p)).sort();
    const s = i.scope.tenants.find((x) => x.tenant === t);
    const inScope = s?.cohorts.accessedConfirmed ?? [];
    if (got.length !== inScope.length || got.some((p, k) => p !== inScope[k])) {
      scopeExact = false;
      problems.push(`${t}: scope has ${inScope.length} patients, the thief received ${got.length}`);
    }
  }
  const bsns = new Set<string>();
  const words = new Set<string>();
  let packagesExact = true;
  for (const a of i.packages) {
    const t = a.tenant as string;
    const { key } = await privateKey(i.keys.get(t) as JWK);
    const { plaintext } = await compactDecrypt((await readFile(a.file, 'utf8')).trim(), key);
    const body = JSON.parse(Buffer.from(plaintext).toString('utf8')) as { subjects: PackageSubject[] };
    const want = i.scope.tenants.find((x) => x.tenant === t);
    const expected = new Set([
      ...(want?.cohorts.accessedConfirmed ?? []),
      ...(want?.cohorts.inLeakedData ?? []),
      ...(want?.cohorts.cannotBeExcluded ?? []),
    ]);
    const listed = body.subjects.map((s) => s.patient);
    if (listed.length !== expected.size || listed.some((p) => !expected.has(p))) {
      packagesExact = false;
      problems.push(`${t}: the package lists ${listed.length} subjects, the scope ${expected.size}`);
    }
    for (const s of body.subjects) {
      if (s.bsn) bsns.add(s.bsn);
      const street = ((s.address as { line?: string[] }[] | null)?.[0]?.line ?? [])[0];
      if (street) words.add(street);
      if (s.name) words.add(s.name);
    }
  }
  let lettersExact = true;
  for (const a of i.letters.filter((x) => x.kind === 'patient-letters')) {
    const t = a.tenant as string;
    const { key } = await privateKey(i.keys.get(t) as JWK);
    let files = 0;
    await openSealedBundle(a.file, key, { header: () => undefined, file: () => files++, data: () => undefined });
    const want = i.scope.tenants.find((x) => x.tenant === t)?.patients[1] ?? 0;
    if (files !== want) {
      lettersExact = false;
      problems.push(`${t}: ${files} letters for ${want} affected patients`);
    }
  }
  // Every BSN is looked for (each 9-digit run of a file against the set, so the scan stays linear
  // in bytes); names and streets by substring, up to SAMPLE of them (each costs a pass per file).
  let plaintext = 0;
  const sample = [...words].slice(0, SAMPLE);
  for (const name of await readdir(i.artifactsDir)) {
    const bytes = (await readFile(path.join(i.artifactsDir, name))).toString('latin1');
    for (const m of bytes.matchAll(/(?<!\d)\d{9}(?!\d)/g)) if (bsns.has(m[0])) plaintext++;
    for (const v of sample) if (bytes.includes(v)) plaintext++;
  }
  if (plaintext > 0) problems.push(`${plaintext} identifiers found in plaintext in the artifacts directory`);
  return { scope_exact: scopeExact, packages_exact: packagesExact, letters_exact: lettersExact, plaintext_found: plaintext, problems };
}
