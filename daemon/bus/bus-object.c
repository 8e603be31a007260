/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <string.h>

#include "bus-object.h"
#include "log.h"
#include "macro.h"

int bus_add_implementation(sd_bus *bus, const BusObjectImplementation *impl, void *userdata) {
        int r;

        assert(bus);
        assert(impl);

        log_debug("Registering bus object implementation for path=%s iface=%s", impl->path, impl->interface);

        for (const sd_bus_vtable **v = impl->vtables; v && *v; v++) {
                r = sd_bus_add_object_vtable(bus, NULL, impl->path, impl->interface, *v, userdata);
                if (r < 0)
                        return log_debug_errno(r, "Failed to register bus path %s with interface %s: %m",
                                               impl->path, impl->interface);
        }

        for (const BusObjectVtablePair *p = impl->fallback_vtables; p && p->vtable; p++) {
                r = sd_bus_add_fallback_vtable(bus, NULL, impl->path, impl->interface, p->vtable, p->object_find,
                                               userdata);
                if (r < 0)
                        return log_debug_errno(r, "Failed to register fallback bus path %s with interface %s: %m",
                                               impl->path, impl->interface);
        }

        if (impl->node_enumerator) {
                r = sd_bus_add_node_enumerator(bus, NULL, impl->path, impl->node_enumerator, userdata);
                if (r < 0)
                        return log_debug_errno(r, "Failed to add node enumerator for %s: %m", impl->path);
        }

        if (impl->manager) {
                r = sd_bus_add_object_manager(bus, NULL, impl->path);
                if (r < 0)
                        return log_debug_errno(r, "Failed to add object manager for %s: %m", impl->path);
        }

        for (const BusObjectImplementation **c = impl->children; c && *c; c++) {
                r = bus_add_implementation(bus, *c, userdata);
                if (r < 0)
                        return r;
        }

        return 0;
}

const BusObjectImplementation *bus_find_implementation_by_interface(const BusObjectImplementation *impl,
                                                                    const char *interface) {
        if (!impl)
                return NULL;
        if (impl->interface && streq(impl->interface, interface))
                return impl;
        for (const BusObjectImplementation **c = impl->children; c && *c; c++) {
                const BusObjectImplementation *f = bus_find_implementation_by_interface(*c, interface);
                if (f)
                        return f;
        }
        return NULL;
}

void bus_list_interfaces(FILE *f, const BusObjectImplementation *impl) {
        if (impl->interface)
                fprintf(f, "%s\n", impl->interface);
        for (const BusObjectImplementation **c = impl->children; c && *c; c++)
                bus_list_interfaces(f, *c);
}

/* Length of the single complete type at the start of s (D-Bus signature grammar). */
static int signature_element_length(const char *s, size_t *ret) {
        size_t l;
        int r;

        if (!*s)
                return -EINVAL;
        if (strchr("ybnqiuxtdsoghv", *s)) {
                *ret = 1;
                return 0;
        }
        if (*s == 'a') {
                r = signature_element_length(s + 1, &l);
                if (r < 0)
                        return r;
                *ret = l + 1;
                return 0;
        }
        if (*s == '(' || *s == '{') {
                char close = *s == '(' ? ')' : '}';
                const char *p = s + 1;
                while (*p != close) {
                        r = signature_element_length(p, &l);
                        if (r < 0)
                                return r;
                        p += l;
                }
                *ret = (size_t) (p - s) + 1;
                return 0;
        }
        return -EINVAL;
}

/* Writes one <arg> per complete type of signature, consuming names (NUL-separated) as it goes. */
static int write_arguments(FILE *f, const char *signature, const char **names, const char *direction) {
        while (*signature) {
                size_t l;
                int r = signature_element_length(signature, &l);
                if (r < 0)
                        return r;
                fprintf(f, "   <arg type=\"%.*s\"", (int) l, signature);
                if (*names && **names) {
                        fprintf(f, " name=\"%s\"", *names);
                        *names += strlen(*names) + 1;
                }
                if (direction)
                        fprintf(f, " direction=\"%s\"/>\n", direction);
                else
                        fputs("/>\n", f);
                signature += l;
        }
        return 0;
}

static void write_flags(FILE *f, int type, uint64_t flags) {
        if (flags & SD_BUS_VTABLE_DEPRECATED)
                fputs("   <annotation name=\"org.freedesktop.DBus.Deprecated\" value=\"true\"/>\n", f);
        if (type == _SD_BUS_VTABLE_METHOD && (flags & SD_BUS_VTABLE_METHOD_NO_REPLY))
                fputs("   <annotation name=\"org.freedesktop.DBus.Method.NoReply\" value=\"true\"/>\n", f);
        if (type == _SD_BUS_VTABLE_PROPERTY || type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) {
                if (flags & SD_BUS_VTABLE_PROPERTY_EXPLICIT)
                        fputs("   <annotation name=\"org.freedesktop.systemd1.Explicit\" value=\"true\"/>\n", f);
                if (flags & SD_BUS_VTABLE_PROPERTY_CONST)
                        fputs("   <annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"const\"/>\n", f);
                else if (flags & SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION)
                        fputs("   <annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"invalidates\"/>\n", f);
                else if (!(flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE))
                        fputs("   <annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"false\"/>\n", f);
        }
        if ((type == _SD_BUS_VTABLE_METHOD || type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) &&
            !(flags & SD_BUS_VTABLE_UNPRIVILEGED))
                fputs("   <annotation name=\"org.freedesktop.systemd1.Privileged\" value=\"true\"/>\n", f);
}

static int write_interface(FILE *f, const sd_bus_vtable *v) {
        int r;

        for (; v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_START && (v->flags & SD_BUS_VTABLE_HIDDEN))
                        continue;

                switch (v->type) {
                case _SD_BUS_VTABLE_METHOD: {
                        const char *names = v->x.method.names ?: "";
                        fprintf(f, "  <method name=\"%s\">\n", v->x.method.member);
                        r = write_arguments(f, strempty(v->x.method.signature), &names, "in");
                        if (r >= 0)
                                r = write_arguments(f, strempty(v->x.method.result), &names, "out");
                        if (r < 0)
                                return r;
                        write_flags(f, v->type, v->flags);
                        fputs("  </method>\n", f);
                        break;
                }
                case _SD_BUS_VTABLE_PROPERTY:
                case _SD_BUS_VTABLE_WRITABLE_PROPERTY:
                        fprintf(f, "  <property name=\"%s\" type=\"%s\" access=\"%s\">\n", v->x.property.member,
                                v->x.property.signature,
                                v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY ? "readwrite" : "read");
                        write_flags(f, v->type, v->flags);
                        fputs("  </property>\n", f);
                        break;
                case _SD_BUS_VTABLE_SIGNAL: {
                        const char *names = v->x.signal.names ?: "";
                        fprintf(f, "  <signal name=\"%s\">\n", v->x.signal.member);
                        r = write_arguments(f, strempty(v->x.signal.signature), &names, NULL);
                        if (r < 0)
                                return r;
                        write_flags(f, v->type, v->flags);
                        fputs("  </signal>\n", f);
                        break;
                }
                default:
                        break;
                }
        }
        return 0;
}

int bus_introspect_interface(FILE *f, const BusObjectImplementation *impl, const char *interface) {
        const BusObjectImplementation *i = bus_find_implementation_by_interface(impl, interface);
        int r;

        if (!i)
                return -ENOENT;

        fputs("<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
              "\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
              "<node>\n", f);
        fprintf(f, " <interface name=\"%s\">\n", interface);
        for (const sd_bus_vtable **v = i->vtables; v && *v; v++) {
                r = write_interface(f, *v);
                if (r < 0)
                        return r;
        }
        for (const BusObjectVtablePair *p = i->fallback_vtables; p && p->vtable; p++) {
                r = write_interface(f, p->vtable);
                if (r < 0)
                        return r;
        }
        fputs(" </interface>\n</node>\n", f);
        return 0;
}

static int append_property_value(sd_bus *bus, sd_bus_message *reply, const char *path, const char *interface,
                                 const sd_bus_vtable *v, void *userdata, sd_bus_error *error) {
        void *p = (uint8_t *) userdata + v->x.property.offset;
        const char *sig = v->x.property.signature;

        if (v->x.property.get)
                return v->x.property.get(bus, path, interface, v->x.property.member, reply, p, error);

        /* sd-bus's automatic getters: */
        if (streq(sig, "as"))
                return sd_bus_message_append_strv(reply, *(char ***) p);
        switch (sig[0]) {
        case 's':
        case 'g':
                return sd_bus_message_append_basic(reply, sig[0], strempty(*(char **) p));
        case 'o':
                return sd_bus_message_append_basic(reply, sig[0], *(char **) p);
        default:
                return sd_bus_message_append_basic(reply, sig[0], p);
        }
}

static bool name_listed(const char * const *names, const char *name) {
        for (; names && *names; names++)
                if (streq(*names, name))
                        return true;
        return false;
}

int bus_append_interface_properties(sd_bus *bus, sd_bus_message *reply, const char *path, const char *interface,
                                    const sd_bus_vtable *vtable, void *userdata, sd_bus_error *error) {
        return bus_append_interface_properties_only(bus, reply, path, interface, vtable, NULL, userdata, error);
}

int bus_append_interface_properties_only(sd_bus *bus, sd_bus_message *reply, const char *path,
                                         const char *interface, const sd_bus_vtable *vtable,
                                         const char * const *only, void *userdata, sd_bus_error *error) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(reply, 's', interface);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (const sd_bus_vtable *v = vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_PROPERTY && v->type != _SD_BUS_VTABLE_WRITABLE_PROPERTY)
                        continue;
                if (v->flags & (SD_BUS_VTABLE_HIDDEN | SD_BUS_VTABLE_PROPERTY_EXPLICIT))
                        continue;
                if (only && !name_listed(only, v->x.property.member))
                        continue;
                r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_basic(reply, 's', v->x.property.member);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(reply, 'v', v->x.property.signature);
                if (r < 0)
                        return r;
                r = append_property_value(bus, reply, path, interface, v, userdata, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}
