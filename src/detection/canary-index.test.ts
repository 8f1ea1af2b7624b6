import { describe, expect, it } from 'vitest';
import { CanaryIndex } from './canary-index.js';

describe('CanaryIndex', () => {
  it('knows the canaries of each tenant', () => {
    const c = new CanaryIndex();
    c.add('screening', ['c-1', 'c-2']);
    c.add('screening', ['c-2', 'c-3']);
    c.add('pathology', ['c-9']);
    expect(c.has('screening', 'c-3')).toBe(true);
    expect(c.has('screening', 'c-9')).toBe(false);
    expect(c.has('nobody', 'c-1')).toBe(false);
    expect(c.size('screening')).toBe(3);
    expect(c.size('nobody')).toBe(0);
    expect(c.size()).toBe(4);
  });

  it('counts the canaries in a read of one tenant', () => {
    const c = new CanaryIndex();
    c.add('screening', ['c-1', 'c-2']);
    c.add('pathology', ['p-1']);
    expect(c.count('screening', ['x', 'c-1', 'c-2', 'p-1'])).toBe(2);
    expect(c.count('pathology', ['c-1'])).toBe(0);
    expect(c.count('nobody', ['c-1'])).toBe(0);
    expect(c.count('screening', [])).toBe(0);
  });
});
