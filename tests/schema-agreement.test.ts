/**
 * prisma/schema.prisma and the database that prisma/migrations produce must agree: every model's
 * table, every field's column (type, length, precision, nullability, default), every enum, primary
 * key, unique key, index and foreign key, and no column the schema does not know.
 * The schema is read with Prisma's own parser (@prisma/prisma-schema-wasm).
 */
import { readFileSync } from 'node:fs';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum';
  type: string;
  isList: boolean;
  isRequired: boolean;
  isUnique: boolean;
  isId: boolean;
  hasDefaultValue: boolean;
  default?: unknown;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  primaryKey: { fields: string[] } | null;
  uniqueFields: string[][];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  fields: { name: string }[];
}
interface Dmmf {
  datamodel: {
    models: DmmfModel[];
    enums: { name: string; values: { name: string }[] }[];
    indexes: DmmfIndex[];
  };
}

const dmmf = JSON.parse(
  get_dmmf(JSON.stringify({ prismaSchema: readFileSync('prisma/schema.prisma', 'utf8') })),
) as Dmmf;
const models = dmmf.datamodel.models;
const tableOf = (m: DmmfModel) => m.dbName ?? m.name;
const columnOf = (f: DmmfField) => f.dbName ?? f.name;
const scalarFields = (m: DmmfModel) => m.fields.filter((f) => f.kind !== 'object');
const modelByName = new Map(models.map((m) => [m.name, m]));
const columnsOf = (m: DmmfModel, names: string[]) =>
  names.map((n) => columnOf(m.fields.find((f) => f.name === n) as DmmfField));

interface Column {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
  is_identity: 'YES' | 'NO';
  character_maximum_length: number | null;
  numeric_precision: number | null;
  numeric_scale: number | null;
  datetime_precision: number | null;
}

let db: TestDatabase;
let columns: Column[];
let indexes: { table: string; unique: boolean; primary: boolean; columns: string[] }[];
let foreignKeys: {
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
}[];
let enums: Map<string, string[]>;

beforeAll(async () => {
  db = await createTestDatabase();
  columns = (
    await db.pool.query<Column>("SELECT * FROM information_schema.columns WHERE table_schema = 'public'")
  ).rows;
  indexes = (
    await db.pool.query(`
      SELECT t.relname AS table, ix.indisunique AS unique, ix.indisprimary AS primary,
             array_agg(a.attname::text ORDER BY k.ord) AS columns
        FROM pg_index ix
        JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
        CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
       GROUP BY t.relname, ix.indexrelid, ix.indisunique, ix.indisprimary`)
  ).rows;
  foreignKeys = (
    await db.pool.query(`
      SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS "refTable",
             (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(n, ord)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS columns,
             (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(n, ord)
                JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS "refColumns",
             c.confdeltype AS "onDelete"
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
       WHERE c.contype = 'f'`)
  ).rows;
  const enumRows = (
    await db.pool.query(
      'SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname',
    )
  ).rows;
  enums = new Map(enumRows.map((r) => [r.typname, r.labels]));
});

afterAll(async () => {
  await db?.drop();
});

/** What the database column must look like for a Prisma field. */
function expectedType(f: DmmfField): Partial<Column> {
  if (f.kind === 'enum') return { data_type: 'USER-DEFINED', udt_name: f.type };
  const [native, args] = f.nativeType ?? [undefined, []];
  if (f.isList)
    return { data_type: 'ARRAY', udt_name: f.type === 'String' ? '_text' : `_${f.type.toLowerCase()}` };
  switch (f.type) {
    case 'String':
      if (native === 'Uuid') return { udt_name: 'uuid' };
      if (native === 'VarChar') return { udt_name: 'varchar', character_maximum_length: Number(args[0]) };
      if (native === 'Char') return { udt_name: 'bpchar', character_maximum_length: Number(args[0]) };
      return { udt_name: 'text' };
    case 'Int':
      return { udt_name: 'int4' };
    case 'BigInt':
      return { udt_name: 'int8' };
    case 'Boolean':
      return { udt_name: 'bool' };
    case 'Json':
      return { udt_name: 'jsonb' };
    case 'Decimal':
      return {
        udt_name: 'numeric',
        numeric_precision: Number(args[0] ?? 65),
        numeric_scale: Number(args[1] ?? 30),
      };
    case 'DateTime':
      return native === 'Timestamptz'
        ? { udt_name: 'timestamptz', datetime_precision: Number(args[0] ?? 6) }
        : { udt_name: 'timestamp', datetime_precision: Number(args[0] ?? 3) };
    default:
      throw new Error(`no mapping for Prisma type ${f.type}`);
  }
}

/** Whether a column default matches the Prisma default. */
function defaultMatches(f: DmmfField, col: Column): boolean {
  if (!f.hasDefaultValue) return col.column_default === null && col.is_identity === 'NO';
  const d = f.default as { name?: string; args?: unknown[] } | string | number | boolean;
  if (typeof d === 'object' && d !== null && 'name' in d) {
    if (d.name === 'autoincrement')
      return col.is_identity === 'YES' || /^nextval\(/.test(col.column_default ?? '');
    if (d.name === 'now') return col.column_default === 'CURRENT_TIMESTAMP';
    if (d.name === 'dbgenerated') return col.column_default === String(d.args?.[0]);
    return false;
  }
  const text = col.column_default ?? '';
  if (f.kind === 'enum') return text === `'${d}'::"${f.type}"`;
  if (typeof d === 'boolean') return text === String(d);
  return text === String(d) || text === `'${d}'::numeric`;
}

describe('schema.prisma agrees with the migrated database', () => {
  it('parses a non-trivial schema', () => {
    expect(models.map((m) => m.name)).toEqual(
      expect.arrayContaining([
        'Branch',
        'Product',
        'StockLevel',
        'StockMovement',
        'Customer',
        'Order',
        'OrderItem',
        'User',
        'ApiToken',
      ]),
    );
  });

  it.each(models.map((m) => [m.name, m] as const))('%s: table and columns', (_name, model) => {
    const table = tableOf(model);
    const cols = columns.filter((c) => c.table_name === table);
    expect(cols.length, `table ${table} exists`).toBeGreaterThan(0);
    const fields = scalarFields(model);
    expect(cols.map((c) => c.column_name).sort(), `${table} has exactly the schema's columns`).toEqual(
      fields.map(columnOf).sort(),
    );
    for (const f of fields) {
      const col = cols.find((c) => c.column_name === columnOf(f)) as Column;
      expect(col, `${table}.${columnOf(f)} type`).toMatchObject(expectedType(f));
      const nullable = !f.isRequired && !f.isList;
      expect(col.is_nullable, `${table}.${columnOf(f)} nullability`).toBe(
        nullable || (f.isList && col.is_nullable === 'YES') ? 'YES' : 'NO',
      );
      expect(
        defaultMatches(f, col),
        `${table}.${columnOf(f)} default ${col.column_default} vs ${JSON.stringify(f.default)}`,
      ).toBe(true);
    }
  });

  it.each(models.map((m) => [m.name, m] as const))(
    '%s: primary key, unique keys and indexes',
    (_name, model) => {
      const table = tableOf(model);
      const tableIndexes = indexes.filter((i) => i.table === table);
      const pk = model.primaryKey?.fields ?? model.fields.filter((f) => f.isId).map((f) => f.name);
      expect(tableIndexes.find((i) => i.primary)?.columns, `${table} primary key`).toEqual(
        columnsOf(model, pk),
      );
      const uniques = [
        ...model.fields.filter((f) => f.isUnique).map((f) => [f.name]),
        ...model.uniqueFields,
      ].map((u) => columnsOf(model, u));
      for (const u of uniques) {
        expect(
          tableIndexes.some((i) => i.unique && !i.primary && JSON.stringify(i.columns) === JSON.stringify(u)),
          `${table} unique (${u})`,
        ).toBe(true);
      }
      const declared = dmmf.datamodel.indexes
        .filter((i) => i.model === model.name && i.type === 'normal')
        .map((i) =>
          columnsOf(
            model,
            i.fields.map((f) => f.name),
          ),
        );
      for (const ix of declared) {
        expect(
          tableIndexes.some((i) => !i.unique && JSON.stringify(i.columns) === JSON.stringify(ix)),
          `${table} index (${ix})`,
        ).toBe(true);
      }
      const extraUnique = tableIndexes.filter(
        (i) =>
          i.unique && !i.primary && !uniques.some((u) => JSON.stringify(u) === JSON.stringify(i.columns)),
      );
      expect(extraUnique, `${table} has no unique index the schema lacks`).toEqual([]);
    },
  );

  it.each(models.map((m) => [m.name, m] as const))('%s: foreign keys', (_name, model) => {
    const table = tableOf(model);
    const relations = model.fields.filter(
      (f) => f.kind === 'object' && (f.relationFromFields?.length ?? 0) > 0,
    );
    const actions: Record<string, string> = {
      Cascade: 'c',
      Restrict: 'r',
      SetNull: 'n',
      NoAction: 'a',
      SetDefault: 'd',
    };
    for (const r of relations) {
      const target = modelByName.get(r.type) as DmmfModel;
      const cols = columnsOf(model, r.relationFromFields as string[]);
      const fk = foreignKeys.find(
        (k) => k.table === table && JSON.stringify(k.columns) === JSON.stringify(cols),
      );
      expect(fk, `${table}(${cols}) references ${tableOf(target)}`).toMatchObject({
        refTable: tableOf(target),
        refColumns: columnsOf(target, r.relationToFields as string[]),
      });
      const onDelete = r.relationOnDelete ?? (r.isRequired ? 'Restrict' : 'SetNull');
      expect(fk?.onDelete, `${table}(${cols}) ON DELETE ${onDelete}`).toBe(actions[onDelete]);
    }
    const declared = relations.length;
    expect(
      foreignKeys.filter((k) => k.table === table).length,
      `${table} has no foreign key the schema lacks`,
    ).toBe(declared);
  });

  it('enums match', () => {
    for (const e of dmmf.datamodel.enums) {
      expect(enums.get(e.name), `enum ${e.name}`).toEqual(e.values.map((v) => v.name));
    }
  });
});
