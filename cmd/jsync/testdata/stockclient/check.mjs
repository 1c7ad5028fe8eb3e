// Opens a DuckDB file written by jsync with the official DuckDB Node.js
// client (@duckdb/node-api: a stock DuckDB 1.5 build we did not compile),
// and prints every table's row count plus a typed sample, one per line.
import { DuckDBInstance } from '@duckdb/node-api';

const [path, schema] = process.argv.slice(2);
const inst = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
const conn = await inst.connect();
const version = await conn.runAndReadAll('select version()');
console.log('version\t' + version.getRows()[0][0]);
const tables = await conn.runAndReadAll(
  `select table_name from duckdb_tables() where schema_name = '${schema}' order by 1`);
for (const [name] of tables.getRows()) {
  const n = await conn.runAndReadAll(`select count(*) from "${schema}"."${name}"`);
  console.log(`count\t${name}\t${n.getRows()[0][0]}`);
}
const sample = await conn.runAndReadAll(
  `select typeof(created), typeof(labels), typeof(fields), typeof(due_date) from "${schema}".issues limit 1`);
console.log('types\t' + sample.getRows()[0].join('\t'));
