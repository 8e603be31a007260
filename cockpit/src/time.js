// Times from the daemon are µs since the epoch; shown in the browser's zone, in the page's language.
import { _, format, ngettext } from "./lib/i18n.js";

function lang() {
    return (window.cockpit?.language || "en").replace("_", "-");
}

export function formatTime(usec) {
    if (!usec)
        return _("never");
    return new Date(Number(usec) / 1000).toLocaleString(lang(), { dateStyle: "medium", timeStyle: "medium" });
}

export function formatAgo(usec, now = Date.now()) {
    const s = Math.round((now - Number(usec) / 1000) / 1000);
    if (s < 60)
        return _("just now");
    if (s < 3600)
        return format(ngettext("$0 minute ago", "$0 minutes ago", Math.floor(s / 60)), Math.floor(s / 60));
    if (s < 86400)
        return format(ngettext("$0 hour ago", "$0 hours ago", Math.floor(s / 3600)), Math.floor(s / 3600));
    return format(ngettext("$0 day ago", "$0 days ago", Math.floor(s / 86400)), Math.floor(s / 86400));
}

// <input type="datetime-local"> value <-> µs
export function toLocalInput(usec) {
    if (!usec)
        return "";
    const d = new Date(Number(usec) / 1000);
    const p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fromLocalInput(text) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? 0 : ms * 1000;
}
