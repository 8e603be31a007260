#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails when the introspection XML committed under dbus/ and the daemon's vtables differ.
# Usage: check-interfaces.sh STOPSTARTD DBUS_DIR
set -eu
stopstartd=$1
dir=$2
status=0
ifaces=$("$stopstartd" --bus-introspect=list)
for iface in $ifaces; do
        if ! "$stopstartd" --bus-introspect="$iface" | diff -u "$dir/$iface.xml" -; then
                echo "$iface: dbus/$iface.xml differs from the code" >&2
                status=1
        fi
done
# Every committed file belongs to an interface the daemon has.
for f in "$dir"/org.stopstart.StopStart1.*.xml; do
        name=$(basename "$f" .xml)
        echo "$ifaces" | grep -qx "$name" || { echo "$f: no such interface in the daemon" >&2; status=1; }
done
[ $status -eq 0 ] && echo "introspection data matches: $(echo $ifaces | wc -w) interfaces"
[ $status -eq 0 ] || echo "update with: meson compile -C BUILD update-dbus-interfaces" >&2
exit $status
