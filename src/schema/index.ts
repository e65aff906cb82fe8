/** Assembles the schema: imports each type file (for its side effects on the builder). */
import { builder } from '../builder.ts';
import './feed.ts';
import './health.ts';

export const schema = builder.toSchema();
