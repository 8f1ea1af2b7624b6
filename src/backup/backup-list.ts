import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE, parseManifest } from './backup-manifest.js';
import { verifyBackup, type VerifyDeps } from './backup-verifier.js';

export interface BackupListing {
  id: string;
  path: string;
  created_at: string;
  backend: string;
  audit_size: number;
  bytes: number;
}

/**
 * The copies under a backup root, newest first, as their manifests describe them (unverified: a
 * listing only reads the manifests; `backup verify` or newestVerifiedBackup proves a copy). Temp
 * directories of unfinished copies and unreadable manifests are left out.
 */
export async function listBackups(root: string): Promise<BackupListing[]> {
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: BackupListing[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const dir = path.join(root, name);
    try {
      const m = parseManifest(await fs.readFile(path.join(dir, MANIFEST_FILE)));
      out.push({
        id: m.id,
        path: dir,
        created_at: m.created_at,
        backend: m.backend,
        audit_size: m.audit.size,
        bytes: m.files.reduce((n, f) => n + f.bytes, 0),
      });
    } catch {
      continue;
    }
  }
  return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
}

/** The newest copy under `root` that passes `backup verify`, or null. */
export async function newestVerifiedBackup(root: string, deps: VerifyDeps): Promise<BackupListing | null> {
  for (const b of await listBackups(root)) if ((await verifyBackup(b.path, deps)).ok) return b;
  return null;
}
