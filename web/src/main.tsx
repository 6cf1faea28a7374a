import { render } from "preact";
import { App } from "./app.tsx";
import { loadConfig } from "./config.ts";
import "./styles.css";

const root = document.getElementById("app") as HTMLElement;
loadConfig()
  .then((config) => render(<App config={config} />, root))
  .catch((error: Error) => {
    root.textContent = `RS-1 Cloud could not start: ${error.message}`;
  });
