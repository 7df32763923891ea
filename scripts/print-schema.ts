// Prints the Pothos schema to schema.graphql (a test fails when the committed file is stale).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { schema } from '../src/schema';

const target = path.resolve(__dirname, '../schema.graphql');
writeFileSync(target, `${printSchema(schema)}\n`);
console.log(`Wrote ${target}`);
