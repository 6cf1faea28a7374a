// Hash routes (#/devices/abc): a static host needs no rewrites, and reloads keep the page.
import { useEffect, useState } from "preact/hooks";

export function currentRoute(): string[] {
  return location.hash.replace(/^#\/?/, "").split("?")[0].split("/").filter(Boolean);
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

export function go(path: string): void {
  location.hash = `#/${path.replace(/^\//, "")}`;
}
