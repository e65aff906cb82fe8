/**
 * The mapping file: which source table (or CSV file) and which columns become which Branchline
 * records and fields. JSON; keys starting with `$` are comments and ignored (suggest.ts writes one
 * per guess). A field is a column name, or `{ "value": ... }` for a constant. References between
 * records use the source's own keys (`"product": "product_id"` in stock names a row of the
 * products mapping), or a natural key (`productSku`, `productBarcode`, `branchCode`).
 *
 * ```json
 * {
 *   "namespace": "shop",
 *   "records": {
 *     "products": { "from": "products", "key": "id",
 *                   "fields": { "sku": "sku", "name": "name", "unitPrice": "price" } },
 *     "stock": { "from": "inventory", "fields": { "product": "product_id", "branchCode": { "value": "DT" },
 *                "quantity": "qty" } }
 *   },
 *   "copies": { "winner": "newest", "updatedAt": "updated_at", "updatedBy": "updated_by" }
 * }
 * ```
 */
import { z } from 'zod';

export const RECORDS = ['branches', 'products', 'customers', 'stock', 'orders', 'orderLines'] as const;
export type RecordType = (typeof RECORDS)[number];

/** Target fields per record type, with what they mean (also used by suggest.ts and the docs). */
export const TARGET_FIELDS: Record<RecordType, Record<string, string>> = {
  branches: { code: 'branch code, 1-16 letters or digits (required)', name: 'name (required)', address: '' },
  products: {
    sku: 'SKU, unique (required)',
    barcode: 'barcode (EAN/UPC or any scanner code), unique; matched after the SKU',
    name: 'name (required)',
    description: '',
    unitPrice: 'price, e.g. 12.50 or "12,50 €" (required)',
  },
  customers: {
    name: 'name (required)',
    email: '',
    phone: '',
    notes: '',
    homeBranch: 'source key of the home branch (a row of the branches mapping)',
    homeBranchCode: 'branch code of the home branch',
  },
  stock: {
    product: 'source key of the product (a row of the products mapping)',
    productSku: 'SKU of the product (instead of product)',
    productBarcode: 'barcode of the product (instead of product)',
    branch: 'source key of the branch',
    branchCode: 'branch code (instead of branch; defaults.branchCode when neither is mapped)',
    quantity: 'quantity in stock (required, not negative)',
    reorderLevel: '',
  },
  orders: {
    branch: 'source key of the branch',
    branchCode: 'branch code (instead of branch; defaults.branchCode when neither is mapped)',
    customer: 'source key of the customer (empty or 0: no customer)',
    placedAt: 'date and time of the sale (required)',
    status: 'paid / open / cancelled (default paid)',
  },
  orderLines: {
    order: 'source key of the order (required)',
    product: 'source key of the product',
    productSku: 'SKU of the product (instead of product)',
    productBarcode: 'barcode of the product (instead of product)',
    quantity: 'quantity sold (required, at least 1)',
    unitPrice: "unit price at the time of sale (default: the product's price)",
  },
};

const withoutComments = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(withoutComments);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !k.startsWith('$'))
        .map(([k, x]) => [k, withoutComments(x)]),
    );
  }
  return v;
};

const fieldSpec = z.union([
  z.string().min(1),
  z.strictObject({ value: z.union([z.string(), z.number(), z.null()]) }),
]);
export type FieldSpec = z.infer<typeof fieldSpec>;

const recordMapping = (type: RecordType) =>
  z.strictObject({
    from: z.string().min(1),
    key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    fields: z.record(z.string(), fieldSpec).superRefine((fields, ctx) => {
      for (const f of Object.keys(fields)) {
        if (!(f in TARGET_FIELDS[type])) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown field "${f}" of ${type}; known: ${Object.keys(TARGET_FIELDS[type]).join(', ')}`,
          });
        }
      }
    }),
  });
export type RecordMapping = z.infer<ReturnType<typeof recordMapping>>;

const mappingSchema = z.strictObject({
  namespace: z
    .string()
    .regex(/^[\w.-]{1,100}$/, 'must be 1 to 100 letters, digits, _ . or -')
    .default('default'),
  decimal: z.enum(['auto', '.', ',']).default('auto'),
  defaults: z.strictObject({ branchCode: z.string().min(1).optional() }).default({}),
  records: z.strictObject(
    Object.fromEntries(RECORDS.map((r) => [r, recordMapping(r).optional()])) as {
      [K in RecordType]: z.ZodOptional<ReturnType<typeof recordMapping>>;
    },
  ),
  copies: z
    .strictObject({
      winner: z.string().min(1).default('ask'),
      updatedAt: z.string().min(1).optional(),
      updatedBy: z.string().min(1).optional(),
      resolve: z.record(z.string(), z.string()).default({}),
    })
    .default({ winner: 'ask', resolve: {} }),
});
export type Mapping = z.infer<typeof mappingSchema>;

export class MappingError extends Error {
  override name = 'MappingError';
}

/** Parses a mapping (JSON text or object); throws MappingError naming every problem. */
export function parseMapping(input: string | unknown): Mapping {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (err) {
      throw new MappingError(`the mapping is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = mappingSchema.safeParse(withoutComments(raw));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(mapping)'}: ${i.message}`);
    throw new MappingError(`the mapping is not valid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The value of a mapped field in a source row (undefined when the field is not mapped). */
export function fieldValue(spec: FieldSpec | undefined, values: Record<string, unknown>): unknown {
  if (spec === undefined) return undefined;
  if (typeof spec === 'string') return values[spec] ?? null;
  return spec.value;
}

/** The columns a record mapping reads (to check them against the source table). */
export function columnsRead(m: RecordMapping): string[] {
  const keys = m.key === undefined ? [] : Array.isArray(m.key) ? m.key : [m.key];
  const fields = Object.values(m.fields).filter((s): s is string => typeof s === 'string');
  return [...new Set([...keys, ...fields])];
}
