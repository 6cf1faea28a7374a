// Who is signed in. Locally a dev sign-in asks the console's own server to register a session
// (POST /dev/sign-in); in production Cloudflare Access has signed the user in and the API
// says who they are (GET /api/auth/session). A session that ends sends the user to sign-in.
import type { Config } from "./config.ts";

export type Role = "user" | "admin";
export type Session = { sub: string; role: Role; expiresAt: number; token: string | null };

const KEY = "rs1.session";

export function storedSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const session = JSON.parse(raw) as Session;
  return session.expiresAt * 1000 > Date.now() ? session : null;
}

export function forget(): void {
  sessionStorage.removeItem(KEY);
}

function remember(session: Session): Session {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

type Issued = { sub: string; role: Role; expires_at: number; token?: string };

export async function devSignIn(user: string, role: Role): Promise<Session> {
  const response = await fetch("dev/sign-in", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, role }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
  const issued = body as Issued;
  return remember({ sub: issued.sub, role: issued.role, expiresAt: issued.expires_at, token: issued.token ?? null });
}

/** Who Access says is signed in; null when the API says nobody (a network error throws). */
export async function accessSession(config: Config): Promise<Session | null> {
  const response = await fetch(`${config.api}/api/auth/session`, { credentials: "include" });
  if (!response.ok) return null;
  const issued = (await response.json()) as Issued;
  return { sub: issued.sub, role: issued.role, expiresAt: issued.expires_at, token: null };
}
