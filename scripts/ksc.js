// Compile a .ksy with the JS Kaitai Struct compiler installed by scripts/install-kaitai.sh.
// usage: node scripts/ksc.js LANGUAGE FILE.ksy OUTDIR   (writes every generated file to OUTDIR)
"use strict";
const fs = require("fs");
const path = require("path");
const mods = path.join(__dirname, "..", ".cache", "kaitai", "node_modules");
const compiler = require(path.join(mods, "kaitai-struct-compiler"));
const yaml = require(path.join(mods, "js-yaml"));

const [lang, ksyPath, outDir] = process.argv.slice(2);
if (!lang || !ksyPath || !outDir) {
  console.error("usage: node scripts/ksc.js LANGUAGE FILE.ksy OUTDIR");
  process.exit(2);
}
const ksy = yaml.load(fs.readFileSync(ksyPath, "utf8"));
compiler.compile(lang, ksy, null, false).then((files) => {
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    fs.writeFileSync(path.join(outDir, name), text);
    console.log(name);
  }
}).catch((err) => {
  console.error("ksc: " + (err && err.stack ? err.stack : JSON.stringify(err)));
  process.exit(1);
});
