import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('config', () => {
  it('has working defaults for every variable', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 4000,
      DATA_DIR: '.data',
      SEED_SAMPLE_DATA: true,
      FEED_RETENTION_DAYS: 7,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('parses values and treats empty strings as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      SEED_SAMPLE_DATA: 'false',
      DATABASE_URL: '',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({ PORT: 8080, SEED_SAMPLE_DATA: false, LOG_LEVEL: 'debug' });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('fails with one readable message naming every bad variable', () => {
    const bad = () => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL[\s\S]*PORT: [\s\S]*LOG_LEVEL: /,
    );
  });

  it('takes the currency as an ISO 4217 code (EUR by default) and an optional symbol', () => {
    expect(loadConfig({})).toMatchObject({ CURRENCY: 'EUR' });
    expect(loadConfig({ CURRENCY: 'chf', CURRENCY_SYMBOL: 'Fr.' })).toMatchObject({
      CURRENCY: 'CHF',
      CURRENCY_SYMBOL: 'Fr.',
    });
    expect(() => loadConfig({ CURRENCY: 'euro' })).toThrow(/CURRENCY: must be an ISO 4217 code/);
    expect(() => loadConfig({ CURRENCY: 'XYZ' })).toThrow(/CURRENCY: must be an ISO 4217 code/);
  });

  it('documents every variable in .env.example', async () => {
    const { readFile } = await import('node:fs/promises');
    const example = await readFile('.env.example', 'utf8');
    for (const key of Object.keys(loadConfig({}))) expect(example).toContain(`${key}=`);
    expect(example).toContain('DATABASE_URL=');
  });
});
