import { rmSync } from 'node:fs';
import { TEMPLATE_ENV, adminQuery, testDatabaseUrl } from './testDatabase';

export default async function globalTeardown() {
  const template = process.env[TEMPLATE_ENV];
  if (!template) return;
  if (testDatabaseUrl()) await adminQuery(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  else rmSync(template, { recursive: true, force: true });
}
