import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DECRYPTION_FAILED_MESSAGE, DecryptionFailed } from '../domain/errors.js';
import { Section, recordAad } from './aad.js';
import { open, seal } from './envelope.js';

describe('AES-256-GCM envelope', () => {
  const key = randomBytes(32);
  const aad = recordAad('screening', 'Observation', 'obs-1', 1, Section.Body);
  const text = Buffer.from('{"resourceType":"Observation"}');

  it('round-trips and uses a fresh IV each time', () => {
    const a = seal(key, text, aad);
    const b = seal(key, text, aad);
    expect(a.equals(b)).toBe(false);
    expect(open(key, a, aad).equals(text)).toBe(true);
  });

  const failures: [string, () => Buffer][] = [
    ['a flipped ciphertext byte', () => flip(seal(key, text, aad), 20)],
    ['a flipped tag byte', () => flip(seal(key, text, aad), -1)],
    ['a truncated envelope', () => seal(key, text, aad).subarray(0, 20)],
    ['another tenant in the AAD', () => seal(key, text, recordAad('hospital-west', 'Observation', 'obs-1', 1, Section.Body))],
    ['another id in the AAD', () => seal(key, text, recordAad('screening', 'Observation', 'obs-2', 1, Section.Body))],
    ['another version in the AAD', () => seal(key, text, recordAad('screening', 'Observation', 'obs-1', 2, Section.Body))],
    ['another section in the AAD', () => seal(key, text, recordAad('screening', 'Observation', 'obs-1', 1, Section.Identity))],
    ['another key', () => seal(randomBytes(32), text, aad)],
  ];
  it.each(failures)('rejects %s with the one uniform error', (_name, make) => {
    const env = make();
    let err: unknown;
    try {
      open(key, env, aad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecryptionFailed);
    expect((err as Error).message).toBe(DECRYPTION_FAILED_MESSAGE);
  });
});

function flip(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  const i = at < 0 ? c.length + at : at;
  c[i] = (c[i] ?? 0) ^ 0x01;
  return c;
}
