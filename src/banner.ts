/**
 * The few lines `npm start` prints once the server is up, for whoever runs it in a shop: the
 * address to open on this PC, the addresses the tills and tablets on the network should open (one
 * per non-internal IPv4 interface), GraphiQL's address, where the first password is, and where
 * backups go. A pure function of its input, so the formatting is tested with made-up interfaces.
 */
import type { NetworkInterfaceInfo } from 'node:os';

export interface BannerInput {
  /** HOST as configured (0.0.0.0 or :: listen on every interface). */
  host: string;
  port: number;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** DATA_DIR/initial-password when that file exists, else null. */
  passwordFile: string | null;
  /** Automatic backups: folder and hour, or null when off. */
  backups: { dir: string; hour: number } | null;
}

const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;

/** The addresses other devices can use: each non-internal IPv4 address, with its interface. */
export function networkAddresses(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): { name: string; address: string }[] {
  const found: { name: string; address: string }[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv4' && !info.internal) found.push({ name, address: info.address });
    }
  }
  return found;
}

export function shopBanner(input: BannerInput): string {
  const { host, port } = input;
  const all = host === '0.0.0.0' || host === '::' || host === '';
  const loopbackOnly = LOOPBACK.test(host);
  const local = all || loopbackOnly ? `http://localhost:${port}/` : `http://${host}:${port}/`;
  const lines = ['', 'Branchline is running.', '', `  On this PC, open:        ${local}`];

  if (all) {
    const others = networkAddresses(input.interfaces);
    if (others.length) {
      lines.push('  On the tills and tablets (same network), open one of:');
      const width = Math.max(...others.map((o) => `http://${o.address}:${port}/`.length));
      for (const o of others)
        lines.push(`      ${`http://${o.address}:${port}/`.padEnd(width)}   (${o.name})`);
    } else {
      lines.push('  Other devices: this PC has no network address yet (connect it to the network).');
    }
  } else if (loopbackOnly) {
    lines.push(
      `  Other devices cannot connect: HOST=${host} listens on this PC only (HOST=0.0.0.0 for all).`,
    );
  }
  lines.push(`  GraphiQL (API explorer): ${local}graphql`);
  if (input.passwordFile) {
    lines.push(`  First sign-in:           admin@example.com, password: see ${input.passwordFile}`);
  }
  if (input.backups) {
    lines.push(
      `  Backups:                 daily at ${String(input.backups.hour).padStart(2, '0')}:00 into ${input.backups.dir}`,
    );
  } else {
    lines.push('  Backups:                 automatic backups are off (BACKUP_DIR=off): run npm run backup');
  }
  lines.push('', '  Stop with Ctrl-C.', '');
  return `${lines.join('\n')}\n`;
}
