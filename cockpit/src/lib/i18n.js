// Cockpit's gettext when the page runs in Cockpit; the English source strings under Node (unit
// tests). Every user-visible string goes through _() or ngettext() so that po/ can translate it.
const c = globalThis.cockpit;

export const _ = c ? (s => c.gettext(s)) : (s => s);
export const ngettext = c ? ((one, many, n) => c.ngettext(one, many, n)) : ((one, many, n) => (n === 1 ? one : many));

// format("$0 of $1", a, b): placeholders stay in the translated string, so that translators can
// reorder them.
export function format(fmt, ...args) {
    return fmt.replace(/\$(\d+)/g, (m, i) => (args[Number(i)] !== undefined ? String(args[Number(i)]) : m));
}
