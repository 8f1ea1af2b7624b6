/**
 * SQLite settings for a vault of random-keyed rows. Ids and blind indexes are random, so inserts
 * and look-ups touch random B-tree pages: a large page cache and a memory map keep them off the
 * read() path, and a 64 MiB WAL between checkpoints saves fsyncs. Memory stays bounded by these
 * numbers, not by the size of the vault. Shared with the benchmark baseline so it runs under the
 * same settings.
 */
export const SQLITE_CACHE_PRAGMA = -262_144; // KiB: 256 MiB
export const SQLITE_MMAP_BYTES = 256 * 1024 * 1024;
export const SQLITE_WAL_AUTOCHECKPOINT = 8192; // pages of 8 KiB: 64 MiB
