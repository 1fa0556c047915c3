// Parses an AsyncAPI document with @asyncapi/parser (schema, references, payload schemas and the
// recommended ruleset) and exits 1 when any diagnostic has severity error. Other diagnostics are
// printed too, as hints for the document's authors.
// Usage: LUNA_ASYNCAPI_HOME=<folder with node_modules> node validate.mjs FILE
// (deploy/local/asyncapi.sh validate FILE sets the folder: the parser lives in a cache, not here.)
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const file = process.argv[2];
const home = process.env.LUNA_ASYNCAPI_HOME;
if (!file || !home) {
  console.error('usage: LUNA_ASYNCAPI_HOME=<dir> node validate.mjs FILE');
  process.exit(2);
}
// Resolve the parser from the cache folder, as if this script lived there.
const require = createRequire(path.join(path.resolve(home), 'package.json'));
const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');
const { version } = require('@asyncapi/parser/package.json');

const names = Object.fromEntries(Object.entries(DiagnosticSeverity).map(([k, v]) => [v, k.toLowerCase()]));
const source = path.resolve(file);
const { document, diagnostics } = await new Parser().parse(await readFile(source, 'utf8'), { source });

for (const d of diagnostics) {
  const where = d.path.length ? d.path.join('.') : '(document)';
  const line = d.range ? `${d.range.start.line + 1}:${d.range.start.character + 1}` : '?';
  console.log(`${names[d.severity] ?? d.severity}\t${d.code}\t${where} (line ${line})\t${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
const others = diagnostics.length - errors;
if (errors > 0 || document === undefined) {
  console.log(`@asyncapi/parser ${version}: ${file} is NOT valid: ${errors} error(s), ${others} other diagnostic(s)`);
  process.exit(1);
}
const v = document.version();
console.log(`@asyncapi/parser ${version}: ${file} is valid AsyncAPI ${v}: ${others} non-error diagnostic(s)`);
