// The ops console (admin role): its own tabs under #/ops/...
import { useApp } from "../app.tsx";
import { DeviceAdmin, DeviceSearch } from "./Devices.tsx";
import { FirmwareList } from "./Firmware.tsx";
import { Logs } from "./Logs.tsx";
import { Overview } from "./Overview.tsx";
import { RolloutPage } from "./Rollout.tsx";
import { Rollouts } from "./Rollouts.tsx";

const TABS: [string, string][] = [
  ["", "Fleet"],
  ["firmware", "Firmware"],
  ["rollouts", "Rollouts"],
  ["devices", "Devices"],
  ["logs", "Audit & security"],
];

export function OpsPage({ route }: { route: string[] }) {
  const { session } = useApp();
  const tab = route[0] ?? "";
  if (session.role !== "admin") {
    return <p class="error" role="alert">The ops console needs the admin role.</p>;
  }
  return (
    <div class="ops">
      <h1 class="ops-title">Ops</h1>
      <nav class="tabs" aria-label="Ops">
        {TABS.map(([path, label]) => (
          <a key={path} href={`#/ops/${path}`} aria-current={tab === path ? "page" : undefined}>{label}</a>
        ))}
      </nav>
      {tabPage(tab, route[1])}
    </div>
  );
}

function tabPage(tab: string, id: string | undefined) {
  switch (tab) {
    case "firmware":
      return <FirmwareList />;
    case "rollouts":
      return id ? <RolloutPage rolloutId={id} key={id} /> : <Rollouts />;
    case "devices":
      return id ? <DeviceAdmin deviceId={id} key={id} /> : <DeviceSearch />;
    case "logs":
      return <Logs view={id === "security" ? "security" : "audit"} />;
    default:
      return <Overview />;
  }
}
