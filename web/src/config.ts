// Where the API is and how users sign in. Production's config.json is written by build.mjs
// (Cloudflare Access, https://api.optic.works); the local server answers its own.
export type AuthMode = "dev" | "access";

export type Config = {
  api: string; // the device API's origin, e.g. https://api.optic.works
  auth: AuthMode;
};

export async function loadConfig(): Promise<Config> {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const config = (await response.json()) as Config;
  return { api: config.api.replace(/\/$/, ""), auth: config.auth === "dev" ? "dev" : "access" };
}
