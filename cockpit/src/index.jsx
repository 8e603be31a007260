import "@patternfly/react-core/dist/styles/base.css";
import "./stopstart.css";
import React from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.jsx";
import { followCockpitTheme } from "./lib/theme.js";

followCockpitTheme();
document.addEventListener("DOMContentLoaded", () => {
    createRoot(document.getElementById("app")).render(<App />);
});
