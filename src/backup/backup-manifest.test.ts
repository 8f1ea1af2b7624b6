import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { containsBsnLike } from '../domain/validate-resource.js';
import {
  BACKUP_FORMAT,
  backupId,
  isBackupIdOf,
  manifestBytes,
  parseManifest,
  type BackupManifest,
  type UnsignedManifest,
} from './backup-manifest.js';

function content(createdAt: string): Pick<UnsignedManifest, 'vault' | 'created_at' | 'backend' | 'schema_version' | 'audit' | 'files'> {
  return {
    vault: 'labvault.example/vault',
    created_at: createdAt,
    backend: 'sqlite',
    schema_version: 9,
    files: [{ name: 'vault.db', bytes: 4096, sha256: 'a'.repeat(64) }],
    audit: { size: 12, root: 'b'.repeat(64) },
  };
}

/** The plain digest backupId started from before ids had to be BSN-free. */
function plainDigest(m: ReturnType<typeof content>): string {
  const data = m.files.filter((f) => f.name.startsWith('vault.'));
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  const c = { vault: m.vault, created_at: m.created_at, backend: m.backend, schema_version: m.schema_version, audit: m.audit, data };
  return createHash('sha256')
    .update(JSON.stringify(sorted(c)))
    .digest('hex')
    .slice(0, 32);
}

describe('backupId', () => {
  it('never looks like a BSN (the audit log refuses such a field), and is the same for the same content', () => {
    let clashes = 0;
    for (let i = 0; i < 3000; i++) {
      const m = content(new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString());
      const id = backupId(m);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(containsBsnLike(id), id).toBe(false);
      expect(backupId(m)).toBe(id);
      const plain = plainDigest(m);
      if (containsBsnLike(plain)) {
        clashes++;
        expect(id).not.toBe(plain);
      } else {
        // Round 0 is the plain digest: ids made before the rule still verify.
        expect(id).toBe(plain);
      }
    }
    // About one digest in 180 needs a second round; 3,000 draws meet several.
    expect(clashes).toBeGreaterThan(0);
  });

  it('still verifies a copy made before the rule, whose id is the plain digest even where it looks like a BSN', () => {
    let checked = 0;
    for (let i = 0; i < 3000 && checked < 3; i++) {
      const m = content(new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString());
      const plain = plainDigest(m);
      if (!containsBsnLike(plain)) continue;
      checked++;
      expect(isBackupIdOf(m, plain)).toBe(true);
      expect(isBackupIdOf(m, backupId(m))).toBe(true);
      expect(
        isBackupIdOf(
          m,
          plain.replace(/^./, (c) => (c === '0' ? '1' : '0')),
        ),
      ).toBe(false);
      const old: BackupManifest = { format: BACKUP_FORMAT, ...m, id: plain, canaries: [] };
      expect(parseManifest(manifestBytes(old)).id).toBe(plain);
      expect(() => parseManifest(manifestBytes({ ...old, created_at: '2025-01-01T00:00:00.000Z' }))).toThrow(/does not match its content/);
    }
    expect(checked).toBe(3);
  });
});
