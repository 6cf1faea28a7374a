// Share a device with a viewer (read-only: zones, live targets, telemetry), or stop sharing.
import { useState } from "preact/hooks";
import { useApp } from "../app.tsx";
import { describe } from "../ui.tsx";

export function Sharing({ deviceId }: { deviceId: string }) {
  const { api } = useApp();
  const [user, setUser] = useState("");
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const act = async (method: "POST" | "DELETE") => {
    const id = user.trim();
    if (!id) return;
    try {
      if (method === "POST") await api.call("POST", `/api/devices/${deviceId}/share`, { body: { user_id: id } });
      else await api.call("DELETE", `/api/devices/${deviceId}/share/${encodeURIComponent(id)}`);
      setNote({ ok: true, text: method === "POST" ? `Shared with ${id} (viewer).` : `No longer shared with ${id}.` });
    } catch (err) {
      setNote({ ok: false, text: describe(err) });
    }
  };
  return (
    <form onSubmit={(e) => { e.preventDefault(); act("POST"); }} aria-label="Share this device">
      <label>
        Viewer's user id
        <input value={user} onInput={(e) => setUser(e.currentTarget.value)} />
      </label>
      <div class="row">
        <button type="submit">Share</button>
        <button type="button" class="secondary" onClick={() => act("DELETE")}>Stop sharing</button>
      </div>
      {note && <p class={note.ok ? "ok" : "error"} role="status">{note.text}</p>}
    </form>
  );
}
