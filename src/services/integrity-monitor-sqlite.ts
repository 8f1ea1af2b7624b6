import Database from 'better-sqlite3';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { TileSource } from '../audit/tile-nodes.js';
import { IntegrityViolation } from '../domain/errors.js';
import { errorCode, failed, isTransient, passed, type IntegrityCheck, type IntegrityProbe } from './integrity-monitor-probe.js';
import { compareSchema, expectedSchema } from './integrity-monitor-schema.js';

/** Every SQLite 3 database file starts with these 16 bytes. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** WAL header magic: checksums in little-endian (…82) or big-endian (…83) words. */
const WAL_MAGIC = [0x377f0682, 0x377f0683] as const;
const WAL_VERSION = 3007000;
const WAL_HEADER_BYTES = 32;

/**
 * The SQLite file checks. What ransomware does to a database file is one of two things: encrypt
 * it in place (the header is gone) or write an encrypted copy and rename it over the original (a
 * new inode at the path; this process keeps reading the unlinked old file and would notice
 * nothing until it restarts). So each check opens the path afresh, compares its device and inode
 * with those recorded at start and reads the 16-byte header; the -wal file, when it has content,
 * must carry a WAL header with a valid magic, version and header checksum.
 *
 * The schema (and the audit tree, see storedTree) is read on a read-only connection of this
 * probe's own, since the store's connection is private to the storage adapter. It must be closed
 * before the store closes, so that the store's final checkpoint still folds and removes the WAL.
 *
 * `PRAGMA quick_check` runs at start-up only: it reads every page of the database (0.72 s for the
 * 886 MB file of 110,000 patients with a warm page cache, far more from a cold disk), far too
 * slow to repeat every couple of seconds.
 */
export class SqliteIntegrityProbe implements IntegrityProbe {
  private identity: { dev: bigint; ino: bigint } | null = null;
  private db: Database.Database | null = null;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly name: string;
  private readonly schema = expectedSchema('sqlite');

  constructor(private readonly file: string) {
    this.name = path.basename(file);
  }

  async cheap(): Promise<IntegrityCheck[]> {
    const [identity, header] = await this.fileChecks();
    return [identity, header, await this.walCheck(), this.schemaCheck()];
  }

  /**
   * Before the store opens the file: its header and the WAL's. Opening a file that is no longer
   * SQLite fails with an engine error rather than the check's name; the schema waits for the
   * open, which may migrate an older vault.
   */
  async files(): Promise<IntegrityCheck[]> {
    const [, header] = await this.fileChecks();
    return [header, await this.walCheck()];
  }

  async full(): Promise<IntegrityCheck[]> {
    const checks = await this.cheap();
    checks.push(this.quickCheck());
    return checks;
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.stmts.clear();
    if (db?.open) db.close();
  }

  /** `sqlite.file` (same inode as at start) and `sqlite.header`, from one open of the path. */
  private async fileChecks(): Promise<[IntegrityCheck, IntegrityCheck]> {
    let h: FileHandle;
    try {
      h = await fs.open(this.file, 'r');
    } catch (e) {
      const what = errorCode(e) === 'ENOENT' ? `${this.name} is missing` : `${this.name} cannot be opened (${errorCode(e)})`;
      return [failed('sqlite.file', what), failed('sqlite.header', what)];
    }
    try {
      const st = await h.stat({ bigint: true });
      // The first call records the file this process runs on (start-up, right after the store opened it).
      this.identity ??= { dev: st.dev, ino: st.ino };
      const same = st.dev === this.identity.dev && st.ino === this.identity.ino;
      const identity = same
        ? passed('sqlite.file', `${this.name} is the file opened at start`)
        : failed('sqlite.file', `${this.name} was replaced by another file since start`);
      const buf = Buffer.alloc(SQLITE_HEADER.length);
      const { bytesRead } = await h.read(buf, 0, buf.length, 0);
      const header =
        bytesRead === buf.length && buf.equals(SQLITE_HEADER)
          ? passed('sqlite.header', `${this.name} starts with the SQLite header`)
          : failed('sqlite.header', `${this.name} does not start with the SQLite header`);
      return [identity, header];
    } catch (e) {
      const what = `${this.name} cannot be read (${errorCode(e)})`;
      return [failed('sqlite.file', what), failed('sqlite.header', what)];
    } finally {
      await h.close();
    }
  }

  private async walCheck(): Promise<IntegrityCheck> {
    const wal = `${this.name}-wal`;
    let h: FileHandle;
    try {
      h = await fs.open(`${this.file}-wal`, 'r');
    } catch (e) {
      if (errorCode(e) === 'ENOENT') return passed('sqlite.wal', `no ${wal}`);
      return failed('sqlite.wal', `${wal} cannot be opened (${errorCode(e)})`);
    }
    try {
      const buf = Buffer.alloc(WAL_HEADER_BYTES);
      const { bytesRead } = await h.read(buf, 0, buf.length, 0);
      // Truncated by a checkpoint (TRUNCATE): empty until the next write starts a new header.
      if (bytesRead === 0) return passed('sqlite.wal', `${wal} is empty`);
      const problem = walHeaderProblem(buf.subarray(0, bytesRead));
      return problem === null ? passed('sqlite.wal', `${wal} has a valid header`) : failed('sqlite.wal', `${wal} ${problem}`);
    } catch (e) {
      return failed('sqlite.wal', `${wal} cannot be read (${errorCode(e)})`);
    } finally {
      await h.close();
    }
  }

  /**
   * The audit tree as the file holds it: complete tiles and events read on this probe's own
   * connection. The store's tile reader also hands out the right edge it keeps in memory, so a
   * tile rewritten on disk would go unseen until a restart; this source sees it.
   */
  storedTree(): TileSource {
    return {
      tile: async (level, index) =>
        (this.stmt('SELECT hashes FROM audit_tiles WHERE level = ? AND idx = ?').get(level, index) as Buffer | undefined) ?? null,
      event: async (seq) => {
        const e = this.stmt('SELECT event FROM audit_events WHERE seq = ?').get(seq) as Buffer | undefined;
        if (!e) throw new IntegrityViolation(`audit event ${seq} is missing`);
        return e;
      },
    };
  }

  private connection(): Database.Database {
    if (this.db?.open) return this.db;
    const db = new Database(this.file, { readonly: true, fileMustExist: true });
    // Readers never wait for writers in WAL mode; only a WAL reset can make one wait, briefly.
    db.pragma('busy_timeout = 200');
    this.db = db;
    return db;
  }

  /** A prepared single-column statement, kept (each prepared on first use, so one missing table fails only its own). */
  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.connection().prepare(sql).pluck();
      this.stmts.set(sql, s);
    }
    return s;
  }

  private schemaCheck(): IntegrityCheck {
    try {
      const versions = this.stmt('SELECT version FROM schema_migrations').all() as number[];
      const tables = this.stmt("SELECT name FROM sqlite_master WHERE type = 'table'").all() as string[];
      return compareSchema('sqlite.schema', this.schema, versions, tables);
    } catch (e) {
      return failed('sqlite.schema', `cannot read the schema of ${this.name} (${errorCode(e)})`, isTransient(e));
    }
  }

  private quickCheck(): IntegrityCheck {
    try {
      const rows = this.connection().pragma('quick_check', { simple: false }) as { quick_check: string }[];
      if (rows.length === 1 && rows[0]?.quick_check === 'ok') return passed('sqlite.quick_check', `${this.name} passes quick_check`);
      // The messages name tables, indexes and page numbers; the count is enough to act on.
      return failed('sqlite.quick_check', `${this.name} fails quick_check (${rows.length} problem(s))`);
    } catch (e) {
      return failed('sqlite.quick_check', `quick_check of ${this.name} could not run (${errorCode(e)})`, isTransient(e));
    }
  }
}

/** Why a WAL header is not one SQLite wrote (null: it is), per https://sqlite.org/fileformat.html#wal_file_format. */
export function walHeaderProblem(h: Buffer): string | null {
  if (h.length < WAL_HEADER_BYTES) return 'is shorter than a WAL header';
  const magic = h.readUInt32BE(0);
  if (magic !== WAL_MAGIC[0] && magic !== WAL_MAGIC[1]) return 'does not start with the WAL magic';
  if (h.readUInt32BE(4) !== WAL_VERSION) return 'has an unknown WAL format version';
  const bigEndian = (magic & 1) === 1;
  let s0 = 0;
  let s1 = 0;
  for (let i = 0; i < 24; i += 8) {
    const x0 = bigEndian ? h.readUInt32BE(i) : h.readUInt32LE(i);
    const x1 = bigEndian ? h.readUInt32BE(i + 4) : h.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  if (h.readUInt32BE(24) !== s0 || h.readUInt32BE(28) !== s1) return 'has a WAL header with a bad checksum';
  return null;
}
