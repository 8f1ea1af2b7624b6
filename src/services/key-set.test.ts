import { describe, expect, it } from 'vitest';
import { KeySet } from './key-set.js';

describe('KeySet', () => {
  it('remembers what was added and nothing else, across growth', () => {
    const s = new KeySet(4);
    for (let i = 0; i < 50_000; i++) s.add(`screening\u0000Observation\u0000obs-${i}`);
    s.add('screening\u0000Observation\u0000obs-1');
    expect(s.size).toBe(50_000);
    for (let i = 0; i < 50_000; i += 997) expect(s.has(`screening\u0000Observation\u0000obs-${i}`)).toBe(true);
    for (let i = 50_000; i < 100_000; i++) expect(s.has(`screening\u0000Observation\u0000obs-${i}`)).toBe(false);
    expect(s.has('hospital-west\u0000Observation\u0000obs-1')).toBe(false);
  });
});
