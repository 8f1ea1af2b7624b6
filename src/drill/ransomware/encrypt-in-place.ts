import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * What ransomware does to a data directory: every regular file's bytes replaced in place with
 * ciphertext-like noise of the same length (same inode, so a process holding it open reads the
 * noise too), and a note left beside them. Returns the files it hit.
 */
export async function encryptInPlace(dir: string): Promise<string[]> {
  const hit: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      hit.push(...(await encryptInPlace(p)));
      continue;
    }
    if (!entry.isFile()) continue;
    const h = await fs.open(p, 'r+');
    try {
      const { size } = await h.stat();
      for (let at = 0; at < size; at += CHUNK) {
        const n = Math.min(CHUNK, size - at);
        await h.write(randomBytes(n), 0, n, at);
      }
      await h.sync();
    } finally {
      await h.close();
    }
    hit.push(p);
  }
  await fs.writeFile(path.join(dir, 'README-RESTORE-FILES.txt'), 'Your files are encrypted. (labvault ransomware drill)\n');
  return hit;
}

const CHUNK = 1 << 20;
