// Client-side validation: the same JSON Schema the API validates with (generated from the
// pydantic model), then the geometry rules (geometry.ts, checked against the Python model by
// shared vectors). Issues carry the API's paths, so server 422 details land in the same places.
import { Validator } from "@cfworker/json-schema";
import type { Issue } from "../api.ts";
import schema from "../../../schema/api/zone-config.schema.json";
import { validateConfig } from "./geometry.ts";
import type { ZoneConfig } from "./types.ts";

const validator = new Validator(schema as object, "2020-12", false);
// Keywords that only say "something below failed"; the failure below is the one to show.
const WRAPPERS = new Set(["properties", "items", "prefixItems", "$ref", "allOf", "anyOf", "additionalProperties"]);

export function schemaIssues(config: ZoneConfig): Issue[] {
  const result = validator.validate(config);
  if (result.valid) return [];
  return result.errors
    .filter((e) => !WRAPPERS.has(e.keyword) || e.keyword === "additionalProperties")
    .map((e) => ({
      path: e.instanceLocation.replace(/^#\/?/, "").split("/").filter(Boolean).join("."),
      message: e.error,
    }));
}

export function issues(config: ZoneConfig): Issue[] {
  const fromSchema = schemaIssues(config);
  return fromSchema.length ? fromSchema : validateConfig(config);
}
