import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidInput, StorageError } from '../domain/errors.js';

/**
 * Writes `data` to a file that must not exist yet (O_EXCL: an existing file, or a symlink planted
 * in its place, is never overwritten), fsyncs it and its directory. A failed write leaves no
 * partial file behind. Returns the number of bytes written. Messages name the path only.
 */
export async function writeNewFile(file: string, data: Buffer | string, mode = 0o600): Promise<number> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new InvalidInput(`${file} already exists: refusing to overwrite it (choose a new file name)`);
    if (code === 'ENOENT') throw new InvalidInput(`cannot create ${file}: its directory does not exist`);
    throw new StorageError(`cannot create ${file} (${code ?? 'error'})`, { cause });
  }
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (cause) {
    // We created it a moment ago, so removing it cannot destroy anything of someone else's.
    await fs.unlink(file).catch(() => undefined);
    throw new StorageError(`cannot write ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
  }
  await syncDirectory(path.dirname(file));
  return bytes.length;
}

/**
 * fsyncs a directory so that a file created, renamed or linked in it survives a power loss. Some
 * file systems (and platforms) cannot fsync a directory; there the entry is as durable as the
 * file system makes it, which is all that can be had.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM') {
      throw new StorageError(`cannot sync directory ${dir} (${code ?? 'error'})`, { cause });
    }
  } finally {
    await handle?.close();
  }
}
