/** The signed-in viewer of a resolver call (the auth gate has already refused anonymous calls). */

import { unauthenticated } from '../auth/gate.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { Context } from '../context.ts';

export function requireViewer(ctx: Context): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}
