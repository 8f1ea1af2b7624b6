import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkpointText, formatVerifierKey, openNote, parseCheckpointText, parseVerifierKey } from './signed-note.js';
import { testSigner } from '../../../test/support/audit-fixture.js';

describe('C2SP signed notes and checkpoints', () => {
  it('round-trips a checkpoint and refuses a changed text or a signature by another key', () => {
    const k = testSigner('example.org/log');
    const root = Buffer.alloc(32, 7);
    const note = k.sign(42, root);
    const v = parseVerifierKey(k.vkey);
    const text = openNote(note, v);
    expect(text).toBe(checkpointText('example.org/log', 42, root));
    expect(parseCheckpointText(text!)).toMatchObject({ origin: 'example.org/log', size: 42 });
    expect(openNote(note.replace('\n42\n', '\n43\n'), v)).toBeNull();
    expect(openNote(testSigner('example.org/log').sign(42, root), v)).toBeNull();
    expect(note).toMatch(/^example\.org\/log\n42\n[A-Za-z0-9+/]{43}=\n\n\u2014 example\.org\/log [A-Za-z0-9+/]+=*\n$/);
  });

  it('parses verifier keys whose base64 contains "+" and rejects a wrong key id', () => {
    let vkey = '';
    for (let i = 0; i < 200 && !vkey.split('+').slice(2).join('+').includes('+'); i++) {
      const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
      vkey = formatVerifierKey('log.example/a', raw);
    }
    expect(vkey.split('+').length).toBeGreaterThan(3);
    expect(parseVerifierKey(vkey).name).toBe('log.example/a');
    const [name, , key] = [vkey.slice(0, vkey.indexOf('+')), '', vkey.slice(vkey.indexOf('+', vkey.indexOf('+') + 1) + 1)];
    expect(() => parseVerifierKey(`${name}+00000000+${key}`)).toThrow(/key id/);
  });

  it('rejects malformed checkpoint bodies', () => {
    expect(parseCheckpointText('o\n01\nAAAA\n')).toBeNull();
    expect(parseCheckpointText('o\n1\nAAAA\n')).toBeNull();
    expect(parseCheckpointText(`o\n1\n${Buffer.alloc(32).toString('base64')}`)).toBeNull();
    expect(parseCheckpointText(`o\n1\n${Buffer.alloc(32).toString('base64')}\n`)).not.toBeNull();
  });
});
