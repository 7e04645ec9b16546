// Primary and complementary small-cell suppression (suppression.ts) on hand-made tables.
import { describe, expect, it } from 'vitest';
import { Cell, protectCells } from './suppression.js';

const M = 10;

describe('protectCells', () => {
  it('hides cells under the minimum (primary) and keeps zeros and large cells', () => {
    expect([new Cell('a', 0, M).hidden, new Cell('b', 9, M).hidden, new Cell('c', 10, M).hidden]).toEqual([null, 'primary', null]);
    expect(() => new Cell('d', -1, M)).toThrow(new RangeError('cell d: value must be a non-negative integer'));
    expect(() => new Cell('e', 1.5, M)).toThrow(RangeError);
  });

  it('hides the smallest other non-zero part when a lone hidden part could be recovered by subtraction', () => {
    const total = new Cell('total', 126, M);
    const parts = [new Cell('a', 6, M), new Cell('b', 0, M), new Cell('c', 40, M), new Cell('d', 80, M)];
    protectCells([{ total, parts }], []);
    expect(parts.map((c) => c.hidden)).toEqual(['primary', null, 'secondary', null]);
    expect(total.hidden).toBeNull();
  });

  it('prefers a complement that opens no new lone-hidden partition, and propagates into nested cells', () => {
    // A 2 × 2 table with margins; rows r1 (small) and r2, columns x and y.
    const total = new Cell('total', 200, M);
    const r1 = new Cell('r1', 30, M);
    const r2 = new Cell('r2', 170, M);
    const x = new Cell('x', 100, M);
    const y = new Cell('y', 100, M);
    const r1x = new Cell('r1x', 5, M);
    const r1y = new Cell('r1y', 25, M);
    const r2x = new Cell('r2x', 95, M);
    const r2y = new Cell('r2y', 75, M);
    const r1yEvents = new Cell('r1y.events', 12, M);
    protectCells(
      [
        { total, parts: [r1, r2] },
        { total, parts: [x, y] },
        { total: r1, parts: [r1x, r1y] },
        { total: r2, parts: [r2x, r2y] },
        { total: x, parts: [r1x, r2x] },
        { total: y, parts: [r1y, r2y] },
      ],
      [[r1y, r1yEvents]],
    );
    expect([r1x, r1y, r2x, r2y].map((c) => c.hidden)).toEqual(['primary', 'secondary', 'secondary', 'secondary']);
    expect(r1yEvents.hidden).toBe('parent');
    expect([total, r1, r2, x, y].every((c) => c.hidden === null)).toBe(true);
  });

  it('stops on a partition it cannot protect (only zero partners)', () => {
    const total = new Cell('t', 0, M);
    const events = new Cell('e', 0, M);
    const parent = new Cell('p', 4, M);
    protectCells([{ total, parts: [events] }], [[parent, events]]);
    expect(events.hidden).toBe('parent');
    expect(total.hidden).toBeNull();
  });
});
