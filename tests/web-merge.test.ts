/** The web app's conflict rules for queued edits (web/src/outbox/merge.ts), without a browser. */
import { describe, expect, it } from 'vitest';
import { applyChoices, resolveConflict, sameValue } from '../web/src/outbox/merge.ts';

describe('web conflict merging', () => {
  it('retries on top of the current row when the other side changed other fields', () => {
    const r = resolveConflict(
      { name: 'Mine' },
      { name: 'Old' },
      { name: 'Old', description: 'Theirs', version: 3 },
      ['description'],
    );
    expect(r).toEqual({ kind: 'retry', patch: { name: 'Mine' }, base: { name: 'Old' } });
  });

  it('asks when both sides changed the same field to different values', () => {
    const r = resolveConflict(
      { name: 'Mine', unitPrice: '2.00' },
      { name: 'Old', unitPrice: '1.00' },
      { name: 'Theirs', unitPrice: '1.00' },
      ['name'],
    );
    expect(r).toEqual({
      kind: 'ask',
      conflicts: [{ field: 'name', mine: 'Mine', theirs: 'Theirs', base: 'Old' }],
    });
  });

  it('is no conflict when both sides arrived at the same value (decimals compare by value)', () => {
    const r = resolveConflict({ unitPrice: '12.5' }, { unitPrice: '10.00' }, { unitPrice: '12.50' }, [
      'unitPrice',
    ]);
    expect(r.kind).toBe('retry');
    expect(sameValue('12.5', '12.50')).toBe(true);
    expect(sameValue(null, '')).toBe(true);
    expect(sameValue('a', 'b')).toBe(false);
  });

  it('uses the server changedFields when no base is known', () => {
    expect(resolveConflict({ name: 'Mine' }, undefined, { name: 'Theirs' }, ['name']).kind).toBe('ask');
    expect(resolveConflict({ name: 'Mine' }, undefined, { name: 'Theirs' }, ['sku']).kind).toBe('retry');
  });

  it('applies the choices per field; keeping theirs everywhere leaves nothing to send', () => {
    const conflicts = [
      { field: 'name', mine: 'M', theirs: 'T', base: 'B' },
      { field: 'unitPrice', mine: '2', theirs: '3', base: '1' },
    ];
    const patch = { name: 'M', unitPrice: '2', description: 'only mine' };
    expect(applyChoices(patch, conflicts, { name: 'mine', unitPrice: 'theirs' })).toEqual({
      name: 'M',
      description: 'only mine',
    });
    expect(applyChoices({ name: 'M' }, conflicts, { name: 'theirs' })).toBeNull();
  });
});
