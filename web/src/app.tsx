// The shell: session, navigation and the page for the route.
import { createContext } from "preact";
import { useContext, useEffect, useMemo, useState } from "preact/hooks";
import { Api } from "./api.ts";
import type { Config } from "./config.ts";
import { DevicePage } from "./pages/Device.tsx";
import { DevicesPage } from "./pages/Devices.tsx";
import { SignIn } from "./pages/SignIn.tsx";
import { OpsPage } from "./ops/Ops.tsx";
import { go, useRoute } from "./router.ts";
import { accessSession, forget, type Session, storedSession } from "./session.ts";

export type Ctx = { api: Api; session: Session };
const Context = createContext<Ctx | null>(null);

export function useApp(): Ctx {
  const ctx = useContext(Context);
  if (!ctx) throw new Error("outside the signed-in app");
  return ctx;
}

export function App({ config }: { config: Config }) {
  const [session, setSession] = useState<Session | null>(config.auth === "dev" ? storedSession() : null);
  const [ended, setEnded] = useState(false);
  const [checking, setChecking] = useState(config.auth === "access");
  const route = useRoute();

  const end = () => {
    forget();
    setSession(null);
    setEnded(true);
  };
  const api = useMemo(() => new Api(config, () => session?.token ?? null, end), [config, session]);

  useEffect(() => {
    if (config.auth !== "access") return;
    accessSession(config)
      .catch(() => null) // unreachable, or Access redirected: not signed in
      .then((s) => {
        setSession(s);
        setChecking(false);
      });
  }, [config]);
  useEffect(() => {
    // The session's own end: sign-in again, even when no request notices it first.
    if (!session) return;
    const timer = setTimeout(end, Math.max(0, session.expiresAt * 1000 - Date.now()));
    return () => clearTimeout(timer);
  }, [session]);

  if (checking) return <p class="muted">Checking your session…</p>;
  if (!session) {
    return (
      <SignIn
        config={config}
        ended={ended}
        onSignedIn={(s) => {
          setEnded(false);
          setSession(s);
          if (!route.length) go(s.role === "admin" ? "ops" : "devices");
        }}
      />
    );
  }
  const signOut = async () => {
    if (config.auth === "access") {
      // The Access cookie is the session: only Access's own logout ends it.
      location.assign("/cdn-cgi/access/logout");
      return;
    }
    await api.post("/api/auth/logout").catch(() => undefined);
    forget();
    setSession(null);
  };
  return (
    <Context.Provider value={{ api, session }}>
      <header class="top">
        <a class="brand" href="#/devices">RS-1 Cloud</a>
        <nav aria-label="Main">
          <a href="#/devices" aria-current={route[0] === "devices" ? "page" : undefined}>Devices</a>
          {session.role === "admin" && (
            <a href="#/ops" aria-current={route[0] === "ops" ? "page" : undefined}>Ops</a>
          )}
        </nav>
        <span class="who">
          {session.sub} ({session.role})
          <button type="button" class="link" onClick={signOut}>Sign out</button>
        </span>
      </header>
      <main>{page(route)}</main>
    </Context.Provider>
  );
}

const DEVICE_ID = /^[0-9a-f]{32}$/;

function page(route: string[]) {
  if (route[0] === "devices" && route[1]) {
    if (!DEVICE_ID.test(route[1])) return <p class="error" role="alert">No such device: a device id is 32 hex characters.</p>;
    return <DevicePage deviceId={route[1]} key={route[1]} />;
  }
  if (route[0] === "ops") return <OpsPage route={route.slice(1)} />;
  return <DevicesPage />;
}
