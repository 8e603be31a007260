# SPDX-License-Identifier: LGPL-2.1-or-later
"""One method call on a bus, measuring the reply as it travels: its serialized size in bytes
(GDBus re-serializes the received message; the D-Bus wire format is canonical, so that is the
size the broker carried) and the time to answer.

    from busreply import call_size
    size, seconds, reply = call_size(address, "org.stopstart.StopStart1", "/org/stopstart/StopStart1",
                                     "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
"""
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402


class CallFailed(Exception):
    pass


def connect(address):
    flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
    return Gio.DBusConnection.new_for_address_sync(address, flags, None, None)


def call_size(address_or_conn, dest, path, iface, method, sig=None, args=None, timeout=120):
    """Returns (bytes, seconds, GDBusMessage reply); raises CallFailed with the error name."""
    conn = connect(address_or_conn) if isinstance(address_or_conn, str) else address_or_conn
    msg = Gio.DBusMessage.new_method_call(dest, path, iface, method)
    if sig:
        msg.set_body(GLib.Variant(f"({sig})", tuple(args or ())))
    t0 = time.monotonic()
    reply, _ = conn.send_message_with_reply_sync(msg, Gio.DBusSendMessageFlags.NONE, int(timeout * 1000), None)
    seconds = time.monotonic() - t0
    if reply.get_message_type() == Gio.DBusMessageType.ERROR:
        raise CallFailed(f"{reply.get_error_name()}: {reply.get_body()}")
    return len(reply.to_blob(Gio.DBusCapabilityFlags.NONE)), seconds, reply
