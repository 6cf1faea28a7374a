// The one way the console talks to the device API: JSON in and out, the API's error shape
// ({"error","message","request_id","details"}) as an ApiError, ETags for If-Match, and a 401
// handed to the session (it signs the user out and back to sign-in).
import type { Config } from "./config.ts";

export type Issue = { path: string; message: string };

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Issue[];
  readonly requestId: string;

  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.message ?? `HTTP ${status}`));
    this.status = status;
    this.code = String(body.error ?? "error");
    this.details = Array.isArray(body.details) ? (body.details as Issue[]) : [];
    this.requestId = String(body.request_id ?? "");
  }
}

/** The body as JSON; null for an empty or non-JSON body (an HTML error page from a proxy). */
function parseJson(text: string): Record<string, unknown> | null {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export type Reply<T> = { status: number; body: T; etag: string | null };

type Options = { body?: unknown; ifMatch?: string | number; query?: Record<string, unknown> };

export class Api {
  readonly config: Config;
  private readonly token: () => string | null;
  readonly expired: () => void;

  constructor(config: Config, token: () => string | null, expired: () => void) {
    this.config = config;
    this.token = token;
    this.expired = expired;
  }

  url(path: string, query: Record<string, unknown> = {}): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
    }
    const qs = params.toString();
    return `${this.config.api}${path}${qs ? `?${qs}` : ""}`;
  }

  async call<T>(method: string, path: string, options: Options = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.ifMatch !== undefined) headers["if-match"] = String(options.ifMatch);
    let response: Response;
    try {
      response = await fetch(this.url(path, options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        // Cloudflare Access signs in by cookie; a bearer token needs none.
        credentials: this.config.auth === "access" ? "include" : "omit",
      });
    } catch (err) {
      // Behind Access an ended session is a redirect to the team's login, which a
      // cross-origin fetch sees only as a network error: ask whether we are still signed in.
      if (this.config.auth === "access" && !(await this.stillSignedIn())) this.expired();
      throw err;
    }
    if (response.status === 401) this.expired();
    const body = parseJson(await response.text());
    if (!response.ok) throw new ApiError(response.status, body ?? { message: `HTTP ${response.status}` });
    return { status: response.status, body: body as unknown as T, etag: response.headers.get("etag") };
  }

  private async stillSignedIn(): Promise<boolean> {
    try {
      const response = await fetch(`${this.config.api}/api/auth/session`, { credentials: "include" });
      return response.ok;
    } catch {
      return false;
    }
  }

  async get<T>(path: string, query: Record<string, unknown> = {}): Promise<T> {
    return (await this.call<T>("GET", path, { query })).body;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.call<T>("POST", path, { body })).body;
  }

  /** The WebSocket URL and subprotocols for a device's live targets (token as a subprotocol). */
  targetsSocket(deviceId: string): { url: string; protocols: string[] } {
    const url = `${this.config.api.replace(/^http/, "ws")}/api/devices/${encodeURIComponent(deviceId)}/targets`;
    const token = this.token();
    return { url, protocols: ["rs1.targets.v1", ...(token ? [`bearer.${token}`] : [])] };
  }
}
