// geometry.ts's verdicts for the Python side (tests/unit/zones/test_shared_vectors.py), which
// compares them with the Python model's:
//
//   node web/test/verdicts.ts <file>  <file> holds a JSON array of zone configs; prints
//                                     {"tan_60": TAN_60, "verdicts": [issues of each config]}
//   node web/test/verdicts.ts -       one JSON config a line on stdin, one JSON issue list a
//                                     line on stdout, in step (for a hypothesis test's oracle)
//
// An issue list is validateConfig's: [] when the config is valid, else [{path, message}, ...].
// Without arguments it prints this usage and exits 0 (a test runner may run every .ts here).
import { readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { TAN_60, validateConfig, type ZoneConfig } from "../src/editor/geometry.ts";

const [arg] = process.argv.slice(2);
if (arg === undefined) {
  process.stderr.write("usage: node web/test/verdicts.ts <configs.json> | -\n");
} else if (arg === "-") {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const issues = validateConfig(JSON.parse(line) as ZoneConfig);
    process.stdout.write(`${JSON.stringify(issues)}\n`);
  }
} else {
  const configs = JSON.parse(readFileSync(arg, "utf8")) as ZoneConfig[];
  process.stdout.write(JSON.stringify({ tan_60: TAN_60, verdicts: configs.map(validateConfig) }));
}
