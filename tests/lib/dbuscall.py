#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One D-Bus method call, typed exactly, with the error name in the answer (busctl prints only
the message). Run as any user (ssstack.dbus_call runs it under setpriv).

    dbuscall.py ADDRESS < '{"dest": …, "path": …, "iface": …, "method": …, "sig": "a{sv}", "args": [...]}'

Arguments follow sig; a variant is {"__variant__": "Boolean"|"String"|"UInt64"|"Int32"|"Int64"|
"Double"|"ObjectPath"|"Array", "value": …[, "sig": element signature]}. Prints {"ok": reply values}
or {"error": name, "message": text}."""
import json
import sys

import dbus

TYPES = {"Boolean": dbus.Boolean, "String": dbus.String, "UInt64": dbus.UInt64, "Int32": dbus.Int32,
         "Int64": dbus.Int64, "UInt32": dbus.UInt32, "Double": dbus.Double, "ObjectPath": dbus.ObjectPath}


def conv(x):
    if isinstance(x, dict) and "__variant__" in x:
        t = x["__variant__"]
        if t == "Array":
            return dbus.Array([conv(e) for e in x["value"]], signature=x.get("sig"), variant_level=1)
        return TYPES[t](x["value"], variant_level=1)
    if isinstance(x, dict):
        return {k: conv(v) for k, v in x.items()}
    if isinstance(x, list):
        return [conv(e) for e in x]
    return x


def plain(v):
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature)):
        return str(v)
    if isinstance(v, dbus.Double):
        return float(v)
    if isinstance(v, int):
        return int(v)
    return v


def main(address, spec):
    a = json.loads(spec)
    bus = dbus.bus.BusConnection(address)
    try:
        msg = dbus.lowlevel.MethodCallMessage(a["dest"], a["path"], a["iface"], a["method"])
        if a.get("sig"):
            msg.append(*[conv(x) for x in a["args"]], signature=a["sig"])
        reply = bus.send_message_with_reply_and_block(msg, a.get("timeout", 60))
        print(json.dumps({"ok": plain(reply.get_args_list())}))
    except dbus.exceptions.DBusException as e:
        print(json.dumps({"error": e.get_dbus_name(), "message": e.get_dbus_message()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.stdin.read()))
