#!/usr/bin/env node
// A solc-compatible command line over the pinned npm `solc` (solc-js).
//
// py-solc-x drives a native solc through `--version` and `--standard-json`.
// Native solc cannot be downloaded here, so this script answers those two
// calls with the official solc-js build. It is not a wrapper of the `solcjs`
// CLI: that one prints an SMT warning line before the JSON and truncates
// output at 64 KiB in a pipe.
//
// Imports are resolved by the caller through remappings and `--allow-paths`
// / `--base-path`; this shim reads files relative to the base path or
// the current directory.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

function version() {
  // Same shape as native solc, which py-solc-x parses.
  const v = solc.version(); // e.g. 0.8.28+commit.7893614a.Emscripten.clang
  process.stdout.write('solc, the solidity compiler commandline interface\n');
  process.stdout.write(`Version: ${v}\n`);
}

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], allowPaths: [], standardJson: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--version') opts.version = true;
    else if (a === '--standard-json') opts.standardJson = true;
    else if (a === '--base-path') opts.basePath = next();
    else if (a.startsWith('--base-path=')) opts.basePath = a.slice(12);
    else if (a === '--include-path') opts.includePaths.push(next());
    else if (a === '--allow-paths') opts.allowPaths.push(...next().split(','));
    else if (a.startsWith('--allow-paths=')) opts.allowPaths.push(...a.slice(14).split(','));
    // Anything else native solc would accept with --standard-json is ignored.
  }
  return opts;
}

function readAll(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

function makeImportCallback(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths];
  return function findImports(p) {
    for (const root of roots) {
      const full = path.resolve(root, p);
      if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
    }
    if (path.isAbsolute(p) && fs.existsSync(p)) return { contents: fs.readFileSync(p, 'utf8') };
    return { error: `File not found: ${p}` };
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) return version();
  if (!opts.standardJson) {
    process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
    process.exit(2);
  }
  const input = await readAll(process.stdin);
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  // Write everything, however large; wait for the pipe to drain.
  process.stdout.write(output, () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write(`solc-shim: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
