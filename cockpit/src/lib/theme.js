// Light and dark themes as Cockpit provides them: the shell keeps the choice in localStorage
// "shell:style" (auto, light, dark) and announces changes with a "cockpit-style" event; "auto"
// follows the browser's prefers-color-scheme. PatternFly 5 switches on the pf-v5-theme-dark class.
function apply(style) {
    const s = style || window.localStorage.getItem("shell:style") || "auto";
    const dark = s === "dark" || (s === "auto" && window.matchMedia?.("(prefers-color-scheme: dark)").matches);
    document.documentElement.classList.toggle("pf-v5-theme-dark", !!dark);
}

export function followCockpitTheme() {
    window.addEventListener("storage", e => { if (e.key === "shell:style") apply() });
    window.addEventListener("cockpit-style", e => apply(e.detail?.style));
    window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.("change", () => apply());
    apply();
}
