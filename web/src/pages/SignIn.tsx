import { useState } from "preact/hooks";
import type { Config } from "../config.ts";
import { devSignIn, type Role, type Session } from "../session.ts";

type Props = { config: Config; ended: boolean; onSignedIn: (s: Session) => void };

export function SignIn({ config, ended, onSignedIn }: Props) {
  const [user, setUser] = useState("");
  const [role, setRole] = useState<Role>("user");
  const [error, setError] = useState<string | null>(null);
  const notice = ended ? <p class="notice" role="status">Your session has ended. Sign in again.</p> : null;

  if (config.auth === "access") {
    // Cloudflare Access signs users in before the page loads; reloading asks it again.
    return (
      <main class="signin">
        <h1>RS-1 Cloud</h1>
        {notice}
        <p>Sign in through your organisation's Cloudflare Access.</p>
        <button type="button" onClick={() => location.reload()}>Sign in</button>
      </main>
    );
  }
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      onSignedIn(await devSignIn(user.trim(), role));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main class="signin">
      <h1>RS-1 Cloud</h1>
      {notice}
      <form onSubmit={submit} aria-label="Dev sign-in">
        <p class="muted">Local development sign-in: registers a real session with the local API.</p>
        <label>
          User id
          <input name="user" required value={user} onInput={(e) => setUser(e.currentTarget.value)} autoComplete="username" />
        </label>
        <label>
          Role
          <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            <option value="user">Owner (user)</option>
            <option value="admin">Ops (admin)</option>
          </select>
        </label>
        <button type="submit">Sign in</button>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </main>
  );
}
