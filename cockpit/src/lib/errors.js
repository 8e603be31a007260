// Daemon errors as one clear line for inline messages. Cockpit's DBusError carries the D-Bus
// error name and the daemon's message. Pure.
import { _, format } from "./i18n.js";

const PREFIX = "org.stopstart.StopStart1.Error.";

export function errorText(ex) {
    if (!ex)
        return "";
    const name = ex.name || "";
    const msg = ex.message || String(ex);
    const short = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name;
    switch (short) {
    case "org.freedesktop.DBus.Error.AccessDenied":
        return format(_("Not permitted: $0"), msg);
    case "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
        return _("Not permitted: polkit asks for an administrator's authentication, which this page cannot give.");
    case "org.freedesktop.DBus.Error.ServiceUnknown":
    case "org.freedesktop.DBus.Error.NameHasNoOwner":
        return _("stopstartd is not running on this machine.");
    case "org.freedesktop.DBus.Error.UnknownObject":
        return _("The object is gone (it was removed in the meantime).");
    case "InvalidConfig":
        return format(_("Invalid setting: $0"), msg);
    case "Busy":
        return format(_("Busy: $0"), msg);
    case "DatabaseUnavailable":
        return format(_("The database is unavailable, nothing was changed: $0"), msg);
    case "NoSuchInstance":
    case "NoSuchCompartment":
    case "NoSuchJob":
    case "NoSuchSchedule":
        return format(_("Not found: $0"), msg);
    case "NotLeader":
        return format(_("Another stopstartd is in charge: $0"), msg);
    case "InvalidCalendar":
        return format(_("Invalid calendar: $0"), msg);
    case "InvalidTarget":
        return format(_("Invalid target: $0"), msg);
    default:
        return short ? `${short}: ${msg}` : msg;
    }
}
