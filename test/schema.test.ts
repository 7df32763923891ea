// schema.graphql is printed from the Pothos schema; this fails when the committed file is stale
// (run `npm run schema:print`), and when the public contract is no longer met.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { schema } from '../src/schema';

const root = path.resolve(__dirname, '..');

test('schema.graphql matches the Pothos schema', () => {
  const committed = readFileSync(path.join(root, 'schema.graphql'), 'utf8');
  expect(committed).toBe(`${printSchema(schema)}\n`);
});

const contract = path.resolve(root, '../shared/spec/api-contract.graphql');
const checker = path.resolve(root, '../shared/tools/contract-check.mjs');

(existsSync(checker) && existsSync(contract) ? test : test.skip)('schema.graphql keeps every name of the public contract', () => {
  const output = execFileSync(process.execPath, [checker, contract, path.join(root, 'schema.graphql')], { encoding: 'utf8' });
  expect(output).toMatch(/ 0 failed/);
});
