/**
 * `--suggest-mapping`: a first mapping guessed from the sources' table and column names
 * (`products.name`, `inventory.qty`, `items.price`, `customers.phone`, `sales` / `sale_items`,
 * ...), with a `$why` comment per guess and a `$todo` list of what it could not guess, for a
 * person to correct. Only names are read, never values, except a branch code for the default
 * branch of stock that has no branch column.
 */
import type { RecordType } from './mapping.ts';
import { type SourceCopy, type SourceTable, tablesOf } from './sources.ts';
import { cleanLine } from './values.ts';

const TABLES: Record<RecordType, RegExp> = {
  branches: /^(branch(es)?|stores?|shops?|locations?|outlets?|sites?|depots?|warehouses?)$/,
  products: /^(products?|items?|articles?|goods|catalog(ue)?|artikel|merchandise)$/,
  customers: /^(customers?|clients?|members?|contacts?|kunden|patrons?)$/,
  stock: /^(inventory|inventories|stocks?|stock_?levels?|on_?hand|lager(bestand)?)$/,
  orders: /^(sales?|orders?|receipts?|invoices?|transactions?|tickets?)$/,
  orderLines:
    /^((sale|sales|order|receipt|invoice|transaction|ticket|line)_?(items?|lines?|details?)|line_?items?)$/,
};

const COLUMNS: Record<RecordType, Record<string, string[]>> = {
  branches: {
    code: ['code', 'branch_code', 'store_code', 'shop_code', 'short_name', 'abbreviation'],
    name: ['name', 'branch_name', 'store_name', 'shop_name', 'title'],
    address: ['address', 'street', 'location'],
  },
  products: {
    sku: [
      'sku',
      'code',
      'item_code',
      'product_code',
      'article_no',
      'art_no',
      'plu',
      'reference',
      'ref',
      'artikelnummer',
      'artikel_nr',
    ],
    barcode: ['barcode', 'bar_code', 'ean', 'ean13', 'upc', 'gtin'],
    name: ['name', 'product_name', 'item_name', 'title', 'label', 'bezeichnung'],
    description: ['description', 'desc', 'details', 'long_description'],
    unitPrice: [
      'price',
      'unit_price',
      'sell_price',
      'sale_price',
      'selling_price',
      'retail_price',
      'price_incl_vat',
      'preis',
    ],
  },
  customers: {
    name: ['name', 'full_name', 'customer_name', 'client_name', 'display_name', 'last_name'],
    email: ['email', 'e_mail', 'mail', 'email_address'],
    phone: ['phone', 'telephone', 'tel', 'mobile', 'phone_number', 'cell'],
    notes: ['notes', 'note', 'comment', 'comments', 'remarks'],
    homeBranch: ['home_branch_id', 'branch_id', 'store_id', 'shop_id', 'location_id'],
  },
  stock: {
    product: ['product_id', 'item_id', 'article_id'],
    productSku: ['sku', 'product_sku', 'item_code', 'product_code', 'artikelnummer', 'artikel_nr', 'code'],
    productBarcode: ['barcode', 'ean', 'upc', 'gtin'],
    branch: ['branch_id', 'store_id', 'shop_id', 'location_id'],
    branchCode: ['branch_code', 'branch', 'store', 'shop', 'location', 'filiale'],
    quantity: ['qty', 'quantity', 'on_hand', 'qty_on_hand', 'stock', 'in_stock', 'count', 'menge', 'bestand'],
    reorderLevel: ['reorder_level', 'min_qty', 'min_stock', 'reorder_point', 'minimum', 'min'],
  },
  orders: {
    branch: ['branch_id', 'store_id', 'shop_id', 'location_id'],
    branchCode: ['branch_code', 'branch', 'store', 'shop'],
    customer: ['customer_id', 'client_id', 'member_id'],
    placedAt: ['sold_at', 'sale_date', 'date', 'order_date', 'created_at', 'datetime', 'timestamp', 'time'],
    status: ['status', 'state'],
  },
  orderLines: {
    order: ['sale_id', 'order_id', 'receipt_id', 'invoice_id', 'transaction_id', 'ticket_id'],
    product: ['product_id', 'item_id', 'article_id'],
    productSku: ['sku', 'product_sku', 'item_code', 'product_code'],
    productBarcode: ['barcode', 'ean', 'upc', 'gtin'],
    quantity: ['qty', 'quantity', 'count', 'menge'],
    unitPrice: ['price', 'unit_price', 'sell_price', 'sale_price', 'preis'],
  },
};

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

function pick(table: SourceTable, candidates: string[]): { column: string; why: string } | undefined {
  for (const c of candidates) {
    const exact = table.columns.find((col) => norm(col) === c);
    if (exact) return { column: exact, why: `column "${exact}": named like this field` };
  }
  for (const c of candidates.filter((x) => x.length >= 4)) {
    const part = table.columns.find((col) => norm(col).split('_').includes(c) || norm(col).includes(c));
    if (part) return { column: part, why: `column "${part}": its name contains "${c}" (check it)` };
  }
  return undefined;
}

export function suggestMapping(copies: SourceCopy[]): Record<string, unknown> {
  const tables = tablesOf(copies);
  const found = new Map<RecordType, SourceTable>();
  const records: Record<string, unknown> = {};
  const todo: string[] = [];
  for (const type of Object.keys(TABLES) as RecordType[]) {
    const name = [...tables.keys()].find((t) => TABLES[type].test(norm(t)));
    if (name) found.set(type, (tables.get(name) ?? [])[0]?.table as SourceTable);
  }
  // Stock kept on the product row itself (a qty column, no inventory table).
  const products = found.get('products');
  if (
    !found.has('stock') &&
    products &&
    pick(products, ['qty', 'quantity', 'on_hand', 'stock', 'in_stock'])
  ) {
    found.set('stock', products);
  }
  if (found.has('orders') !== found.has('orderLines')) {
    todo.push('orders and their lines are imported together: map both or neither');
    found.delete('orders');
    found.delete('orderLines');
  }
  const branchTable = found.get('branches');
  let defaultBranch: string | undefined;
  for (const [type, table] of found) {
    const fields: Record<string, string> = {};
    const why: Record<string, string> = {};
    for (const [field, candidates] of Object.entries(COLUMNS[type])) {
      if ((field === 'product' && !found.has('products')) || (field === 'branch' && !branchTable)) continue;
      if (field === 'homeBranch' && !branchTable) continue;
      if (field === 'productSku' && fields.product) continue;
      if (field === 'productBarcode' && (fields.product || fields.productSku)) continue;
      if (field === 'branchCode' && fields.branch) continue;
      if (type === 'stock' && table === products && field === 'product') {
        const key = products.primaryKey[0] ?? products.columns.find((c) => norm(c) === 'id');
        if (key) {
          fields.product = key;
          why.product = `stock is kept on the product row: the product is the row itself (${key})`;
        }
        continue;
      }
      const hit = pick(table, candidates);
      if (!hit) continue;
      fields[field] = hit.column;
      why[field] = hit.why;
    }
    if (type === 'products' && !fields.sku && fields.barcode) {
      fields.sku = fields.barcode;
      why.sku = `no SKU column: the barcode (${fields.barcode}) doubles as the SKU (check it)`;
    }
    const entry: Record<string, unknown> = {
      $comment: `table "${table.name}" looks like ${type}`,
      from: table.name,
    };
    if (table.primaryKey.length) {
      entry.key = table.primaryKey.length === 1 ? table.primaryKey[0] : table.primaryKey;
      entry.$key = 'the primary key: rows are matched by it on later runs';
    } else if (table.columns.some((c) => norm(c) === 'id')) {
      entry.key = table.columns.find((c) => norm(c) === 'id');
      entry.$key = 'column id: rows are matched by it on later runs';
    }
    entry.fields = fields;
    entry.$why = why;
    records[type] = entry;
    if ((type === 'stock' || type === 'orders') && !fields.branch && !fields.branchCode && !defaultBranch) {
      const code = branchTable
        ? cleanLine(
            branchTable.rows[0]?.values[pick(branchTable, COLUMNS.branches.code ?? [])?.column ?? ''] ?? null,
          )
        : null;
      defaultBranch = code ?? 'MAIN';
      todo.push(
        `${type} has no branch column: everything goes to defaults.branchCode ("${defaultBranch}"); change it to the right branch code`,
      );
    }
    const missing = Object.keys(COLUMNS[type]).filter(
      (f) =>
        !(f in fields) &&
        ![
          'description',
          'address',
          'notes',
          'reorderLevel',
          'status',
          'customer',
          'homeBranch',
          'productSku',
          'productBarcode',
          'barcode',
          'branchCode',
          'branch',
          'product',
          'unitPrice',
        ].includes(f),
    );
    for (const f of missing) todo.push(`${type}.${f}: no column looks like it; add it to "fields"`);
  }
  for (const type of Object.keys(TABLES) as RecordType[]) {
    if (!found.has(type))
      todo.push(`${type}: no table looks like it (tables: ${[...tables.keys()].join(', ')})`);
  }
  const stem =
    norm(
      copies[0]?.name
        .split('/')
        .pop()
        ?.replace(/\.[^.]*$/, '') ?? 'import',
    ) || 'import';
  const mapping: Record<string, unknown> = {
    $comment:
      'A first guess from table and column names: check every "$why", fix what is wrong, then run with --mapping. Keys starting with $ are comments.',
    namespace: copies.every((c) => c.kind === 'csv') ? 'spreadsheets' : stem,
    $namespace: 'rows are remembered per namespace: keep it the same for every run of the same sources',
    decimal: 'auto',
    $decimal: 'auto, "." or ",": the decimal separator of amounts in the sources',
  };
  if (defaultBranch) mapping.defaults = { branchCode: defaultBranch };
  mapping.records = records;
  const copied = [...tables.values()].some((h) => h.length > 1);
  if (copied) {
    const any = [...tables.values()].find((h) => h.length > 1)?.[0]?.table as SourceTable;
    const at = any.columns.find((c) => /^(updated_at|modified_at|last_modified|modified|updated)$/i.test(c));
    const by = any.columns.find((c) => /^(updated_by|modified_by|changed_by|last_user)$/i.test(c));
    mapping.copies = {
      $comment: `${copies.length} copies of one database: rows that differ are listed in the report; say which wins`,
      winner: 'ask',
      $winner:
        '"newest" (latest updated_at), a copy\'s name, or "ask" (differing rows are skipped until decided in resolve)',
      ...(at ? { updatedAt: at } : {}),
      ...(by ? { updatedBy: by } : {}),
      resolve: {},
    };
  }
  if (todo.length) mapping.$todo = todo;
  return mapping;
}
