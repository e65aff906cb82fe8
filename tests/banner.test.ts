/**
 * The banner `npm start` prints once up (src/banner.ts), with made-up network interfaces, and the
 * choice between readable and JSON log lines (src/logger.ts).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { networkAddresses, shopBanner } from '../src/banner.ts';
import { wantsPrettyLogs } from '../src/logger.ts';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '00:00:00:00:00:00',
  internal,
  cidr: `${address}/24`,
});
const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '00:00:00:00:00:00',
  internal,
  cidr: `${address}/64`,
  scopeid: 0,
});
const SHOP = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v4('192.168.1.20'), v6('fe80::1')],
  wlan0: [v4('10.0.0.7')],
  docker0: [],
};

describe('shop banner', () => {
  it('lists this PC, one address per non-internal IPv4 interface, GraphiQL, the password file and backups', () => {
    const text = shopBanner({
      host: '0.0.0.0',
      port: 4000,
      interfaces: SHOP,
      passwordFile: '/srv/branchline/.data/initial-password',
      backups: { dir: '/srv/branchline/backups', hour: 2 },
    });
    expect(text).toBe(
      [
        '',
        'Branchline is running.',
        '',
        '  On this PC, open:        http://localhost:4000/',
        '  On the tills and tablets (same network), open one of:',
        '      http://192.168.1.20:4000/   (eth0)',
        '      http://10.0.0.7:4000/       (wlan0)',
        '  GraphiQL (API explorer): http://localhost:4000/graphql',
        '  First sign-in:           admin@example.com, password: see /srv/branchline/.data/initial-password',
        '  Backups:                 daily at 02:00 into /srv/branchline/backups',
        '',
        '  Stop with Ctrl-C.',
        '',
        '',
      ].join('\n'),
    );
  });

  it('says so when other devices cannot connect, and leaves out a password file that is gone', () => {
    const local = shopBanner({
      host: '127.0.0.1',
      port: 8080,
      interfaces: SHOP,
      passwordFile: null,
      backups: null,
    });
    expect(local).toContain('On this PC, open:        http://localhost:8080/');
    expect(local).toContain('Other devices cannot connect: HOST=127.0.0.1');
    expect(local).not.toContain('192.168.1.20');
    expect(local).not.toContain('First sign-in');
    expect(local).toContain('automatic backups are off (BACKUP_DIR=off)');

    const offline = shopBanner({
      host: '0.0.0.0',
      port: 4000,
      interfaces: { lo: SHOP.lo },
      passwordFile: null,
      backups: null,
    });
    expect(offline).toContain('this PC has no network address yet');

    const one = shopBanner({
      host: '192.168.1.20',
      port: 4000,
      interfaces: SHOP,
      passwordFile: null,
      backups: null,
    });
    expect(one).toContain('On this PC, open:        http://192.168.1.20:4000/');
    expect(one).not.toContain('10.0.0.7');
  });

  it('finds only non-internal IPv4 addresses', () => {
    expect(networkAddresses(SHOP)).toEqual([
      { name: 'eth0', address: '192.168.1.20' },
      { name: 'wlan0', address: '10.0.0.7' },
    ]);
  });
});

describe('log format', () => {
  it('is readable on a terminal and JSON otherwise, unless LOG_FORMAT says', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(wantsPrettyLogs('auto', tty)).toBe(true);
    expect(wantsPrettyLogs('auto', pipe)).toBe(false);
    expect(wantsPrettyLogs('json', tty)).toBe(false);
    expect(wantsPrettyLogs('pretty', pipe)).toBe(true);
  });
});
