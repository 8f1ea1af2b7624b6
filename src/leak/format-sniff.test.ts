import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extensionOf, sniffFormat } from './format-sniff.js';
import { zipArchive } from './zip-writer.js';

const sniff = (name: string, text: string | Buffer): string => {
  const s = sniffFormat(name, typeof text === 'string' ? Buffer.from(text) : text);
  return s.kind === 'text' ? `${s.format}${s.delimiter >= 0 ? `:${String.fromCharCode(s.delimiter)}` : ''}` : s.kind;
};

describe('format sniffing', () => {
  it('goes by extension, past compression suffixes', () => {
    expect(extensionOf('dir.x/a.CSV.gz')).toBe('csv');
    expect(sniff('a.tsv', 'a\tb\n')).toBe('csv:\t');
    expect(sniff('a.csv', 'a;b;c\n1;2;3\n')).toBe('csv:;');
    expect(sniff('a.jsonl', '{}')).toBe('ndjson');
    expect(sniff('a.hl7', 'MSH|')).toBe('hl7');
  });

  it('goes by content where the name does not tell', () => {
    expect(sniff('dump', '  [{"a":1}]')).toBe('json');
    expect(sniff('dump', '\uFEFF<?xml version="1.0"?><a/>')).toBe('xml');
    expect(sniff('dump', 'MSH|^~\\&|LAB\r')).toBe('hl7');
    expect(sniff('dump', '-- PostgreSQL database dump\n')).toBe('sql');
    expect(sniff('dump', 'SET statement_timeout = 0;\nINSERT INTO t VALUES (1);\n')).toBe('sql');
    expect(sniff('data.txt', 'a|b|c\n1|2|3\n4|5|6\n')).toBe('csv:|');
    expect(sniff('notes.txt', 'Dear colleague, the results, as discussed.\nBest, me\n')).toBe('text');
  });

  it('recognises compressed, UTF-16 and binary data behind any name', () => {
    expect(sniff('a.csv', gzipSync(Buffer.from('x')))).toBe('gzip');
    expect(sniff('a.csv', zipArchive([{ name: 'x', data: Buffer.from('y') }]))).toBe('zip');
    expect(sniff('a.csv', Buffer.from('\uFEFFa,b', 'utf16le'))).toBe('utf16');
    expect(sniff('a.csv', Buffer.from([0x41, 0x00, 0x42]))).toBe('binary');
    expect(sniff('a.txt', Buffer.from(Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 1 : 65))))).toBe('binary');
  });
});
