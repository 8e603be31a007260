#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Rewrites dbus/org.stopstart.StopStart1.*.xml from the built daemon's vtables:
#   meson compile -C BUILD update-dbus-interfaces
set -eu
stopstartd=$1
dir=$2
for iface in $("$stopstartd" --bus-introspect=list); do
        "$stopstartd" --bus-introspect="$iface" > "$dir/$iface.xml.tmp"
        mv "$dir/$iface.xml.tmp" "$dir/$iface.xml"
done
