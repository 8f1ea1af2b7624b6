import { describe, expect, it } from 'vitest';
import { Explainer, type OrderBook } from './explainer.js';

const T0 = Date.parse('2025-03-12T09:00:00Z');
const MINUTE = 60_000;

class Book implements OrderBook {
  readonly newest = new Map<string, string>([['screening', '2025-03-11']]);
  /** tenant → patient → dates of its orders */
  readonly orders = new Map<string, Map<string, string[]>>([
    [
      'screening',
      new Map([
        ['recent', ['2025-03-01']],
        ['edge', ['2024-12-11']],
        ['old', ['2024-12-10']],
      ]),
    ],
  ]);
  newestCalls = 0;
  lookups: [string, string, string][] = [];

  async newestOrderDate(tenantId: string): Promise<string | null> {
    this.newestCalls++;
    return this.newest.get(tenantId) ?? null;
  }

  async hasOrderSince(tenantId: string, patientId: string, date: string): Promise<boolean> {
    this.lookups.push([tenantId, patientId, date]);
    return (this.orders.get(tenantId)?.get(patientId) ?? []).some((d) => d >= date);
  }
}

describe('Explainer', () => {
  it('explains patients with an order within recentDays of the tenant’s newest order', async () => {
    const book = new Book();
    const e = new Explainer(book, 90);
    expect(await e.unexplained('screening', ['recent', 'edge', 'old', 'none'], T0)).toEqual(['old', 'none']);
    // 90 days before 2025-03-11.
    expect(new Set(book.lookups.map(([, , d]) => d))).toEqual(new Set(['2024-12-11']));
  });

  it('measures from the newest order, not the wall clock', async () => {
    const e = new Explainer(new Book(), 90);
    expect(await e.unexplained('screening', ['recent'], Date.parse('2030-01-01T00:00:00Z'))).toEqual([]);
  });

  it('explains nobody in a tenant without orders', async () => {
    const book = new Book();
    const e = new Explainer(book, 90);
    expect(await e.unexplained('empty', ['recent', 'x'], T0)).toEqual(['recent', 'x']);
    expect(book.lookups).toEqual([]);
  });

  it('looks nothing up for a read of nobody', async () => {
    const book = new Book();
    expect(await new Explainer(book, 90).unexplained('screening', [], T0)).toEqual([]);
    expect(book.newestCalls).toBe(0);
  });

  it('caches answers and the cutoff for ten minutes', async () => {
    const book = new Book();
    const e = new Explainer(book, 90);
    await e.unexplained('screening', ['recent', 'old'], T0);
    await e.unexplained('screening', ['recent', 'old'], T0 + 10 * MINUTE);
    expect(book.lookups).toHaveLength(2);
    expect(book.newestCalls).toBe(1);
    // A new order is seen once the cache expires.
    book.orders.get('screening')?.set('old', ['2025-03-11']);
    expect(await e.unexplained('screening', ['old'], T0 + 10 * MINUTE + 1)).toEqual([]);
    expect(book.lookups).toHaveLength(3);
    expect(book.newestCalls).toBe(2);
  });

  it('keeps tenants apart', async () => {
    const book = new Book();
    book.newest.set('other', '2025-03-11');
    const e = new Explainer(book, 90);
    expect(await e.unexplained('screening', ['recent'], T0)).toEqual([]);
    expect(await e.unexplained('other', ['recent'], T0)).toEqual(['recent']);
  });
});
