import { createHash } from 'node:crypto';
import { constants, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { IntegrityViolation } from '../domain/errors.js';

/**
 * File steps of a backup copy: each written once, synced to disk, then made read-only, and the
 * directory named by its content only when complete (rename of a finished temp directory), so a
 * crash leaves either a whole copy or a `.tmp-*` directory that list and verify ignore.
 */
export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

export async function syncPath(p: string): Promise<void> {
  const h = await fs.open(p, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Creates `file` exclusively (never overwrites), writes, syncs. */
export async function writeOnce(file: string, data: Buffer | string, mode = 0o400): Promise<void> {
  const h = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.chmod(file, mode);
}

/**
 * Moves a finished temp directory to `final` (which must not exist: a copy is never overwritten),
 * makes it and its files read-only, and syncs both directories.
 */
export async function publishDir(tmp: string, final: string): Promise<void> {
  try {
    await fs.access(final);
    throw new IntegrityViolation(`backup ${path.basename(final)} exists in ${path.dirname(final)}: a copy is never overwritten`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  for (const name of await fs.readdir(tmp)) {
    await fs.chmod(path.join(tmp, name), 0o444);
    await syncPath(path.join(tmp, name));
  }
  await fs.rename(tmp, final);
  await fs.chmod(final, 0o555);
  await syncPath(final);
  await syncPath(path.dirname(final));
}

/** Copies a published copy to another root (the second target), with the same steps. */
export async function copyDirOnce(from: string, toRoot: string): Promise<string> {
  await fs.mkdir(toRoot, { recursive: true, mode: 0o700 });
  const final = path.join(toRoot, path.basename(from));
  const tmp = path.join(toRoot, `.tmp-${path.basename(from)}-${process.pid}`);
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { mode: 0o700 });
  try {
    for (const name of await fs.readdir(from)) {
      await fs.copyFile(path.join(from, name), path.join(tmp, name), constants.COPYFILE_EXCL);
    }
    await publishDir(tmp, final);
  } catch (e) {
    await removeTree(tmp);
    throw e;
  }
  return final;
}

/** Removes a directory tree that was made read-only (permissions first, else rm fails on some systems). */
export async function removeTree(dir: string): Promise<void> {
  try {
    await fs.chmod(dir, 0o700);
  } catch {
    return;
  }
  await fs.rm(dir, { recursive: true, force: true });
}
