import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, IntegrityViolation } from '../domain/errors.js';
import type { CheckpointWitness } from '../ports/checkpoint-witness.js';

const SUFFIX = '.checkpoint';

/**
 * Checkpoint copies as files `<size>.checkpoint` in a directory per log origin. Each file is
 * written to a temp name, fsynced, then hard-linked to its final name (link fails if the name
 * exists, so nothing is ever overwritten) and the directory fsynced: a crash leaves either the
 * whole file or none, plus at most a stray temp file the reader ignores.
 */
export class DirectoryWitness implements CheckpointWitness {
  readonly location: string;

  constructor(root: string, origin: string) {
    this.location = path.join(root, origin.replace(/[^A-Za-z0-9.-]/g, '_'));
  }

  async publish(size: number, note: string): Promise<void> {
    const final = path.join(this.location, `${String(size).padStart(16, '0')}${SUFFIX}`);
    try {
      await fs.mkdir(this.location, { recursive: true, mode: 0o700 });
      const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
      const h = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await h.writeFile(note, 'utf8');
        await h.sync();
      } finally {
        await h.close();
      }
      try {
        await fs.link(tmp, final);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if ((await fs.readFile(final, 'utf8')) !== note)
          throw new IntegrityViolation(`witness holds a different checkpoint for size ${size}`);
      } finally {
        await fs.unlink(tmp);
      }
      const dir = await fs.open(this.location, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (cause) {
      if (cause instanceof IntegrityViolation) throw cause;
      throw new ConfigurationError(`cannot write checkpoint to witness directory ${this.location}`, { cause });
    }
  }

  async list(): Promise<{ source: string; note: string }[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.location);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ConfigurationError(`cannot read witness directory ${this.location}`, { cause: e });
    }
    const out: { source: string; note: string }[] = [];
    for (const name of names.filter((n) => n.endsWith(SUFFIX)).sort()) {
      out.push({ source: `witness:${name}`, note: await fs.readFile(path.join(this.location, name), 'utf8') });
    }
    return out;
  }
}
