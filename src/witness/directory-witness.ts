import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, IntegrityViolation } from '../domain/errors.js';
import type { CheckpointWitness } from '../ports/checkpoint-witness.js';

const SUFFIX = '.checkpoint';
const JOURNAL = /^(\d{16})-(\d{16})\.events$/;
const NEWLINE = Buffer.from('\n');

function segmentName(from: number, to: number): string {
  return `${String(from).padStart(16, '0')}-${String(to).padStart(16, '0')}.events`;
}

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
    await this.writeOnce(`${String(size).padStart(16, '0')}${SUFFIX}`, note, `checkpoint for size ${size}`);
  }

  async journal(from: number, events: readonly Buffer[]): Promise<void> {
    if (events.length === 0) return;
    const body = Buffer.concat(events.flatMap((e) => [e, NEWLINE]));
    await this.writeOnce(segmentName(from, from + events.length), body, `journal segment from ${from}`);
  }

  async journalSegments(): Promise<{ from: number; to: number }[]> {
    const names = await this.names();
    return names
      .map((n) => JOURNAL.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ from: Number(m[1]), to: Number(m[2]) }))
      .sort((a, b) => a.from - b.from || a.to - b.to);
  }

  async readJournal(from: number, to: number): Promise<Buffer[]> {
    const body = await fs.readFile(path.join(this.location, segmentName(from, to)));
    const out: Buffer[] = [];
    for (let at = 0; at < body.length;) {
      const end = body.indexOf(0x0a, at);
      if (end < 0) throw new IntegrityViolation(`journal segment ${from}-${to} is cut short`);
      out.push(body.subarray(at, end));
      at = end + 1;
    }
    if (out.length !== to - from) throw new IntegrityViolation(`journal segment ${from}-${to} holds ${out.length} events`);
    return out;
  }

  async setAsideJournal(from: number, to: number, stamp: string): Promise<void> {
    const name = segmentName(from, to);
    await fs.rename(path.join(this.location, name), path.join(this.location, `${name}.set-aside-${stamp}`));
  }

  /** The directory's file names; none when it does not exist yet. */
  private async names(): Promise<string[]> {
    try {
      return await fs.readdir(this.location);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ConfigurationError(`cannot read witness directory ${this.location}`, { cause: e });
    }
  }

  /** Temp file, fsync, hard link to the final name (fails if it exists), directory fsync. */
  private async writeOnce(name: string, data: string | Buffer, what: string): Promise<void> {
    const final = path.join(this.location, name);
    try {
      await fs.mkdir(this.location, { recursive: true, mode: 0o700 });
      const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
      const h = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await h.writeFile(data);
        await h.sync();
      } finally {
        await h.close();
      }
      try {
        await fs.link(tmp, final);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (!(await fs.readFile(final)).equals(Buffer.isBuffer(data) ? data : Buffer.from(data)))
          throw new IntegrityViolation(`witness holds a different ${what}`);
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
    const names = await this.names();
    const out: { source: string; note: string }[] = [];
    for (const name of names.filter((n) => n.endsWith(SUFFIX)).sort()) {
      out.push({ source: `witness:${name}`, note: await fs.readFile(path.join(this.location, name), 'utf8') });
    }
    return out;
  }
}
