import { closeSync, openSync, readSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberDataOffset, readZipDirectory, ZipDamaged } from './zip-directory.js';
import { zipArchive } from './zip-writer.js';

describe('zip central directory', () => {
  let dir: string;
  const zip = zipArchive([
    { name: 'a.csv', data: Buffer.from('hello, world\n'.repeat(50)) },
    { name: 'sub/b.txt', data: Buffer.from('stored'), method: 0 },
  ]);
  const file = (name: string): string => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-zip-'));
    await writeFile(file('ok.zip'), zip);
    await writeFile(file('cut.zip'), zip.subarray(0, zip.length - 30));
    // The same archive with ZIP64 end records (sizes and offsets there, 0xFFFF… in the classic record).
    const eocd = zip.subarray(zip.length - 22);
    const z64 = Buffer.alloc(56 + 20);
    z64.writeUInt32LE(0x06064b50, 0);
    z64.writeBigUInt64LE(44n, 4);
    z64.writeBigUInt64LE(2n, 24);
    z64.writeBigUInt64LE(2n, 32);
    z64.writeBigUInt64LE(BigInt(eocd.readUInt32LE(12)), 40);
    z64.writeBigUInt64LE(BigInt(eocd.readUInt32LE(16)), 48);
    z64.writeUInt32LE(0x07064b50, 56);
    z64.writeBigUInt64LE(BigInt(zip.length - 22), 64);
    const classic = Buffer.from(eocd);
    classic.writeUInt16LE(0xffff, 8);
    classic.writeUInt16LE(0xffff, 10);
    classic.writeUInt32LE(0xffffffff, 12);
    classic.writeUInt32LE(0xffffffff, 16);
    await writeFile(file('z64.zip'), Buffer.concat([zip.subarray(0, zip.length - 22), z64, classic]));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists members with their method, sizes and data', () => {
    for (const name of ['ok.zip', 'z64.zip']) {
      const members = readZipDirectory(file(name));
      expect(members.map((m) => [m.name, m.method, m.size])).toEqual([
        ['a.csv', 8, 650],
        ['sub/b.txt', 0, 6],
      ]);
      const fd = openSync(file(name), 'r');
      const b = Buffer.alloc(6);
      readSync(fd, b, 0, 6, memberDataOffset(fd, members[1] as (typeof members)[number]));
      closeSync(fd);
      expect(b.toString()).toBe('stored');
    }
  });

  it('refuses a truncated archive with a reason', () => {
    expect(() => readZipDirectory(file('cut.zip'))).toThrow(ZipDamaged);
    expect(() => readZipDirectory(file('cut.zip'))).toThrow(/end-of-central-directory/);
  });
});
