/** Assembles the schema: imports each type file (for its side effects on the builder). */
import { builder } from '../builder.ts';
import './feed.ts';
import './feed-typed.ts';
import './health.ts';
import './auth.ts';
import './account.ts';
import './backup.ts';
import './branch.ts';
import './customer.ts';
import './errors.ts';
import './history.ts';
import './import.ts';
import './movement.ts';
import './order.ts';
import './payment.ts';
import './product.ts';
import './stock-level.ts';
import './stock-request.ts';
import './sync-status.ts';
import './user.ts';

export const schema = builder.toSchema();
