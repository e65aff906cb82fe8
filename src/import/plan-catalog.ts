/**
 * Planning branches, products and customers: clean, validate with the API's own schemas, find
 * the Branchline row (import map, then branch code / SKU / email / phone), and decide create,
 * update (only the fields that changed in the source), unchanged or skip. A second source row
 * with the same branch code, SKU or email is skipped as a duplicate, naming the first.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { fields as branchFields } from '../resolvers/branch.ts';
import { fields as customerFields } from '../resolvers/customer.ts';
import { productFields } from '../resolvers/product.ts';
import { type Mapping, MappingError } from './mapping.ts';
import type { MergedRow } from './merge.ts';
import { type PlanItem, type Refs, skip } from './plan.ts';
import { type Existing, mapKey, type State, sameValues } from './state.ts';
import { cleanLine, cleanText, parseMoney, phoneKey } from './values.ts';

type Catalog = 'branches' | 'products' | 'customers';

const LABEL: Record<string, string> = {
  code: 'branch code',
  name: 'name',
  address: 'address',
  sku: 'SKU',
  barcode: 'barcode',
  description: 'description',
  unitPrice: 'price',
  email: 'email',
  phone: 'phone',
  notes: 'notes',
  homeBranchId: 'home branch',
};

const REQUIRED: Record<Catalog, string[]> = {
  branches: ['code', 'name'],
  products: ['sku', 'name', 'unitPrice'],
  customers: ['name'],
};

const SCHEMA: Record<Catalog, Record<string, z.ZodType>> = {
  branches: branchFields,
  products: productFields,
  customers: customerFields,
};

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** The first problem of a zod result, worded for a person ("invalid price "12,5x": ..."). */
function problemOf(
  error: z.ZodError,
  field: string,
  input: Record<string, unknown>,
  raw: Record<string, unknown>,
): string {
  const issue = error.issues[0] as z.core.$ZodIssue;
  const label = LABEL[field] ?? field;
  if (input[field] === null || input[field] === undefined || input[field] === '') return `blank ${label}`;
  const shown = raw[field] ?? input[field];
  return `invalid ${label} ${JSON.stringify(String(shown))}: ${issue.message}`;
}

export function planCatalog(
  type: Catalog,
  rows: MergedRow[],
  mapping: Mapping,
  state: State,
  refs: Refs,
): PlanItem[] {
  const m = mapping.records[type];
  if (!m) return [];
  for (const f of REQUIRED[type]) {
    if (!(f in m.fields)) throw new MappingError(`${type}: field "${f}" must be mapped`);
  }
  const existing: Map<string, Existing> = state[type];
  const mapped = Object.keys(m.fields).map((f) =>
    f === 'homeBranch' || f === 'homeBranchCode' ? 'homeBranchId' : f,
  );
  const fields = [...new Set(mapped)];
  const label = type === 'branches' ? 'branch' : type === 'products' ? 'product' : 'customer';
  // Which Branchline row each source key of this namespace already stands for.
  const claimed = new Map<string, string>();
  for (const [k, e] of state.map)
    if (k.startsWith(`${type}:`)) claimed.set(e.targetId, k.slice(type.length + 1));
  const firstUnique = new Map<string, string>();
  const out: PlanItem[] = [];

  for (const row of rows) {
    const item = planRow(row);
    refs.record(item);
    out.push(item);
  }
  return out;

  function planRow(row: MergedRow): PlanItem {
    if (row.problem) return skip(row, row.problem);
    const raw = row.values;
    const input: Record<string, unknown> = {};
    for (const f of fields) {
      if (f === 'homeBranchId') continue;
      if (f === 'unitPrice') {
        input[f] =
          raw[f] == null || cleanLine(raw[f]) === null
            ? null
            : (parseMoney(raw[f], mapping.decimal) ?? String(raw[f]));
      } else if (f === 'description' || f === 'notes' || f === 'address') input[f] = cleanText(raw[f]);
      else input[f] = cleanLine(raw[f]);
    }
    if (type === 'customers' && fields.includes('homeBranchId')) {
      const ref = cleanLine(raw.homeBranch);
      const code = cleanLine(raw.homeBranchCode)?.toUpperCase();
      if (ref) {
        const r = refs.resolve('branches', ref, 'branch');
        if (!r.id) return skip(row, r.problem as string);
        input.homeBranchId = r.id;
      } else if (code) {
        const id = refs.branchByCode.get(code);
        if (!id) return skip(row, `unknown branch ${code}`);
        input.homeBranchId = id;
      } else input.homeBranchId = null;
    }
    const schema = SCHEMA[type];
    const values: Record<string, string | null> = {};
    for (const f of fields) {
      const s = schema[f] as z.ZodType;
      const parsed = s.safeParse(input[f] ?? (REQUIRED[type].includes(f) ? undefined : null));
      if (!parsed.success) return skip(row, problemOf(parsed.error, f, input, raw));
      values[f] = str(parsed.data);
    }

    const unique = type === 'branches' ? values.code : type === 'products' ? values.sku : values.email;
    if (unique) {
      const first = firstUnique.get(unique);
      if (first)
        return skip(
          row,
          `duplicate ${LABEL[type === 'branches' ? 'code' : type === 'products' ? 'sku' : 'email']} ${unique} (first at ${first})`,
        );
      firstUnique.set(unique, row.location);
    }

    const entry = state.map.get(mapKey(type, row.key));
    let target = entry ? existing.get(entry.targetId) : undefined;
    if (!target) {
      const id =
        type === 'branches'
          ? state.branchByCode.get(values.code as string)
          : type === 'products'
            ? state.productBySku.get(values.sku as string)
            : ((values.email && state.customerByEmail.get(values.email)) ??
              (phoneKey(values.phone)
                ? state.customerByPhone.get(phoneKey(values.phone) as string)
                : undefined));
      const owner = id ? claimed.get(id) : undefined;
      if (id && owner !== undefined && owner !== row.key) {
        const what =
          type === 'branches'
            ? `branch code ${values.code}`
            : type === 'products'
              ? `SKU ${values.sku}`
              : `customer ${values.email ?? values.phone}`;
        return skip(row, `duplicate ${what}: already imported from source key ${owner}`);
      }
      target = id ? existing.get(id) : undefined;
    }
    if (type === 'products' && values.barcode) {
      const first = firstUnique.get(`barcode:${values.barcode}`);
      if (first) return skip(row, `duplicate barcode ${values.barcode} (first at ${first})`);
      firstUnique.set(`barcode:${values.barcode}`, row.location);
    }
    if (!target && type === 'products' && values.barcode) {
      // No SKU match: the barcode, when it belongs to a product no other source row stands for.
      const id = state.productByBarcode.get(values.barcode);
      const owner = id ? claimed.get(id) : undefined;
      if (id && owner !== undefined && owner !== row.key) {
        return skip(row, `duplicate barcode ${values.barcode}: already imported from source key ${owner}`);
      }
      target = id ? existing.get(id) : undefined;
    }
    if (target && type === 'products' && values.barcode) {
      const holder = state.productByBarcode.get(values.barcode);
      if (holder && holder !== target.id) {
        return skip(row, `duplicate barcode ${values.barcode}: another product in Branchline has it`);
      }
    }
    if (target && unique && type !== 'customers') {
      // A changed code or SKU must not take another row's.
      const holder = type === 'branches' ? state.branchByCode.get(unique) : state.productBySku.get(unique);
      if (holder && holder !== target.id)
        return skip(
          row,
          `duplicate ${type === 'branches' ? 'branch code' : 'SKU'} ${unique}: another ${label} in Branchline has it`,
        );
    }
    if (target) claimed.set(target.id, row.key);

    const base = { type, key: row.key, location: row.location, source: values };
    if (!target) {
      const id = randomUUID();
      registerNew(id, values);
      return { ...base, action: 'create', targetId: id, values, remember: true };
    }
    const before =
      entry && entry.targetId === target.id ? (entry.values as Record<string, unknown>) : target.values;
    const patch: Record<string, unknown> = {};
    for (const f of fields) {
      if (str(before[f]) !== values[f] && target.values[f] !== values[f]) patch[f] = values[f];
    }
    registerExisting(target.id, { ...target.values, ...values });
    const remember = !entry || entry.targetId !== target.id || !sameValues(entry.values, values);
    if (Object.keys(patch).length === 0)
      return { ...base, action: 'unchanged', targetId: target.id, remember };
    return {
      ...base,
      action: 'update',
      targetId: target.id,
      expectedVersion: target.version,
      values: patch,
      remember: true,
    };
  }

  function registerNew(id: string, values: Record<string, string | null>) {
    registerExisting(id, values);
  }

  function registerExisting(id: string, values: Record<string, string | null>) {
    if (type === 'branches' && values.code) {
      refs.branchByCode.set(values.code, id);
      refs.branchCodeById.set(id, values.code);
    }
    if (type === 'products') {
      if (values.sku) refs.productBySku.set(values.sku, id);
      if (values.barcode) refs.productByBarcode.set(values.barcode, id);
      if (values.unitPrice) refs.productPrice.set(id, values.unitPrice);
    }
  }
}
