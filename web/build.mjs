// Bundles the console into dist/: one minified ES module and its CSS, index.html and the
// production config.json (the local server answers its own config.json). Prints the gzipped
// size of what the first load fetches and writes it to dist/build-stats.json.
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const out = new URL("./dist/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}assets`, { recursive: true });

const result = await build({
  entryPoints: ["src/main.tsx"],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: `${out}assets`,
  entryNames: "app-[hash]",
  metafile: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
// Hashed names: assets are cached for a year, index.html never (public/_headers).
const outputs = Object.keys(result.metafile.outputs).map((p) => p.slice(p.indexOf("assets/")));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
const html = readFileSync("index.html", "utf8").replace("%APP_JS%", js).replace("%APP_CSS%", css);
writeFileSync(`${out}index.html`, html);
cpSync("public", out, { recursive: true });
// Production: Cloudflare Access signs the user in; the API is cross-origin at api.optic.works.
writeFileSync(`${out}config.json`, JSON.stringify({ api: "https://api.optic.works", auth: "access" }));

const gz = (file) => gzipSync(readFileSync(`${out}${file}`), { level: 9 }).length;
const stats = { js: gz(js), css: gz(css), files: { js, css } };
writeFileSync(`${out}build-stats.json`, JSON.stringify({ gzip_bytes: stats }, null, 2));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`[web] built dist/: ${js} ${kb(stats.js)} gzipped, ${css} ${kb(stats.css)} gzipped`);
