/**
 * Sample data for a first start on an empty database: 3 branches, 64 products, stock levels for
 * every branch, 30 customers, orders over the last 12 days and the demo users (README lists
 * them). Deterministic (seeded PRNG). Stock is consistent with the ledger: every quantity equals
 * the sum of its movements (an opening RECEIPT, then SALEs and RETURNs of the orders).
 *
 * Passwords: every user gets `password` (the first start's initial password, src/database/first-start.ts;
 * tests pass the sample password `branchline` explicitly), hashed separately with its own salt.
 * Without one, a random password nobody knows. The password is never logged.
 */
import type pg from 'pg';
import { generatePassword, hashPassword } from '../src/auth/password.ts';
import type { Logger } from '../src/logger.ts';

const BRANCHES = [
  { code: 'DT', name: 'Downtown', address: '12 Market Street' },
  { code: 'HB', name: 'Harbour', address: '3 Quay Road' },
  { code: 'NG', name: 'Northgate', address: 'Unit 7, Northgate Centre' },
];

const ITEMS = [
  ['Claw hammer', 14.5],
  ['Screwdriver set', 19.9],
  ['Tape measure 5m', 8.75],
  ['Spirit level', 22.0],
  ['Utility knife', 6.5],
  ['Pliers', 11.25],
  ['Adjustable wrench', 16.4],
  ['Hand saw', 18.0],
  ['Wood glue', 5.6],
  ['Masking tape', 3.2],
  ['Paint brush', 4.8],
  ['Paint roller', 9.9],
  ['Sandpaper pack', 6.0],
  ['Cable ties', 3.95],
  ['Extension lead', 15.5],
  ['LED bulb', 4.25],
] as const;
const VARIANTS = ['Standard', 'Pro', 'Compact', 'Heavy-duty'] as const;

const FIRST = ['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Iris', 'Jonah'];
const LAST = ['Okafor', 'Lindqvist', 'Moreau'];

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoUser {
  email: string;
  role: 'ADMIN' | 'MANAGER' | 'CLERK';
  branch?: string;
}

export function demoUsers(): DemoUser[] {
  const users: DemoUser[] = [{ email: 'admin@example.com', role: 'ADMIN' }];
  for (const b of BRANCHES) {
    const code = b.code.toLowerCase();
    users.push({ email: `manager.${code}@example.com`, role: 'MANAGER', branch: b.code });
    users.push({ email: `clerk.${code}@example.com`, role: 'CLERK', branch: b.code });
  }
  return users;
}

async function insert(client: pg.PoolClient, sql: string, params: unknown[]) {
  return (await client.query(sql, params)).rows;
}

/** Loads the sample data when the database has no branch yet. Returns whether it did. */
export async function seedSampleData(
  pool: pg.Pool,
  log: Logger,
  opts: { password?: string } = {},
): Promise<boolean> {
  if ((await pool.query('SELECT 1 FROM branches LIMIT 1')).rowCount) return false;
  // Hashed before the transaction (scrypt takes a while), each with its own salt.
  const password = opts.password ?? generatePassword();
  const hashes = new Map<string, string>();
  for (const u of demoUsers()) hashes.set(u.email, await hashPassword(password));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL app.actor = 'seed'");
    // Two processes starting on one empty database: the second waits here, then sees data.
    await client.query('LOCK TABLE branches IN EXCLUSIVE MODE');
    const existing = await client.query('SELECT 1 FROM branches LIMIT 1');
    if (existing.rowCount) {
      await client.query('ROLLBACK');
      return false;
    }
    const rand = prng(20261122);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
    const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

    const branchIds = new Map<string, string>();
    for (const b of BRANCHES) {
      const [row] = await insert(
        client,
        'INSERT INTO branches (code, name, address) VALUES ($1, $2, $3) RETURNING id',
        [b.code, b.name, b.address],
      );
      branchIds.set(b.code, row.id);
      await client.query('INSERT INTO order_counters (branch_id) VALUES ($1)', [row.id]);
    }

    const products: { id: string; price: number }[] = [];
    let n = 0;
    for (const [name, basePrice] of ITEMS) {
      for (const [vi, variant] of VARIANTS.entries()) {
        n += 1;
        const price = Math.round(basePrice * (1 + vi * 0.35) * 100) / 100;
        const [row] = await insert(
          client,
          'INSERT INTO products (sku, name, description, unit_price) VALUES ($1, $2, $3, $4) RETURNING id',
          [
            `SKU-${String(n).padStart(4, '0')}`,
            `${name} (${variant})`,
            `${variant} ${name.toLowerCase()}.`,
            price,
          ],
        );
        products.push({ id: row.id, price });
      }
    }

    // Opening stock, then orders that sell from it.
    const openedAt = new Date(Date.now() - 14 * 86_400_000);
    const stock = new Map<string, number>();
    const movements: unknown[][] = [];
    for (const [code, branchId] of branchIds) {
      for (const p of products) {
        const qty = code === 'DT' && rand() < 0.15 ? between(2, 9) : between(20, 120);
        stock.set(`${branchId}:${p.id}`, qty);
        movements.push([branchId, p.id, 'RECEIPT', qty, 'Opening stock', null, openedAt]);
      }
    }

    const customerIds: string[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length)]}`;
      const [row] = await insert(
        client,
        'INSERT INTO customers (name, phone, email, home_branch_id) VALUES ($1, $2, $3, $4) RETURNING id',
        [
          name,
          `+44 7700 9${String(i).padStart(5, '0')}`,
          `${name.toLowerCase().replace(' ', '.')}@example.net`,
          branchIds.get(BRANCHES[i % 3].code),
        ],
      );
      customerIds.push(row.id);
    }

    const orders: { branchId: string; at: Date }[] = [];
    for (let i = 0; i < 42; i++) {
      const at = new Date(Date.now() - between(0, 12 * 24 * 60) * 60_000);
      orders.push({ branchId: branchIds.get(pick(BRANCHES).code) as string, at });
    }
    orders.sort((a, b) => a.at.getTime() - b.at.getTime());
    const seqs = new Map<string, number>();
    const codeOf = new Map([...branchIds].map(([code, id]) => [id, code]));
    for (const o of orders) {
      const seq = (seqs.get(o.branchId) ?? 0) + 1;
      seqs.set(o.branchId, seq);
      const lines = new Map<string, { id: string; price: number; qty: number }>();
      for (let k = between(1, 4); k > 0; k--) {
        const p = pick(products);
        const have = stock.get(`${o.branchId}:${p.id}`) ?? 0;
        const qty = Math.min(between(1, 3), have - (lines.get(p.id)?.qty ?? 0));
        if (qty > 0) lines.set(p.id, { ...p, qty: (lines.get(p.id)?.qty ?? 0) + qty });
      }
      if (lines.size === 0) continue;
      const roll = rand();
      const status = roll < 0.08 ? 'CANCELLED' : roll < 0.2 ? 'PLACED' : 'PAID';
      const total = [...lines.values()].reduce((s, l) => s + Math.round(l.price * l.qty * 100), 0) / 100;
      const itemCount = [...lines.values()].reduce((s, l) => s + l.qty, 0);
      const [order] = await insert(
        client,
        `INSERT INTO orders (branch_id, seq, number, customer_id, status, total, item_count, placed_at, paid_at,
                             cancelled_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8, $8) RETURNING id`,
        [
          o.branchId,
          seq,
          `${codeOf.get(o.branchId)}-${String(seq).padStart(6, '0')}`,
          rand() < 0.6 ? pick(customerIds) : null,
          status,
          total,
          itemCount,
          o.at,
          status === 'PAID' ? o.at : null,
          status === 'CANCELLED' ? o.at : null,
        ],
      );
      for (const l of lines.values()) {
        await client.query(
          `INSERT INTO order_items (order_id, branch_id, product_id, quantity, unit_price, line_total, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [order.id, o.branchId, l.id, l.qty, l.price, Math.round(l.price * l.qty * 100) / 100, o.at],
        );
        const key = `${o.branchId}:${l.id}`;
        stock.set(key, (stock.get(key) ?? 0) - l.qty);
        movements.push([o.branchId, l.id, 'SALE', -l.qty, null, order.id, o.at]);
        if (status === 'CANCELLED') {
          stock.set(key, (stock.get(key) ?? 0) + l.qty);
          movements.push([o.branchId, l.id, 'RETURN', l.qty, 'Order cancelled', order.id, o.at]);
        }
      }
    }
    for (const [branchId, seq] of seqs) {
      await client.query('UPDATE order_counters SET last_seq = $2 WHERE branch_id = $1', [branchId, seq]);
    }

    for (const [key, qty] of stock) {
      const [branchId, productId] = key.split(':');
      await client.query(
        'INSERT INTO stock_levels (branch_id, product_id, quantity, reorder_level) VALUES ($1, $2, $3, $4)',
        [branchId, productId, qty, between(5, 15)],
      );
    }
    for (const m of movements) {
      await client.query(
        `INSERT INTO stock_movements (branch_id, product_id, kind, delta, reason, order_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        m,
      );
    }

    for (const u of demoUsers()) {
      const name = u.branch ? `${u.role === 'MANAGER' ? 'Manager' : 'Clerk'} ${u.branch}` : 'Admin';
      const [row] = await insert(
        client,
        'INSERT INTO users (name, email, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING id',
        [name, u.email, hashes.get(u.email), u.role],
      );
      if (u.branch) {
        await client.query('INSERT INTO user_branches (user_id, branch_id) VALUES ($1, $2)', [
          row.id,
          branchIds.get(u.branch),
        ]);
      }
    }
    await client.query('COMMIT');
    log.info(
      {
        module: 'seed',
        branches: BRANCHES.length,
        products: products.length,
        customers: customerIds.length,
        orders: [...seqs.values()].reduce((a, b) => a + b, 0),
        users: demoUsers().map((u) => `${u.email} (${u.role}${u.branch ? ` ${u.branch}` : ''})`),
      },
      'sample data loaded',
    );
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
