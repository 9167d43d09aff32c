// fd_usage_c: an hbc plugin in C. File handles in use against the kernel's limit, from
// /proc/sys/fs/file-nr (grant it). WARNING above `warning_percent` (default 80),
// CRITICAL above `critical_percent` (default 95).
//
// Contract 0.2.0. Bindings in gen/ come from `wit-bindgen c ../../plugin-sdk/wit --world plugin
// --out-dir gen` (regenerate when the WIT changes); scripts/build-plugins.sh compiles.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/plugin.h"

static void set_path(plugin_list_string_t *path, const char *a, const char *b) {
    size_t n = b ? 2 : 1;
    path->ptr = malloc(n * sizeof(plugin_string_t));
    path->len = n;
    plugin_string_dup(&path->ptr[0], a);
    if (b) plugin_string_dup(&path->ptr[1], b);
}

// A file error (contract 0.2: a tagged value, not text) in words: the plugin branches
// on the tag.
static void describe_fs_error(hbd_plugin_host_fs_error_t *e, const char *path, plugin_string_t *out) {
    char buf[256];
    switch (e->tag) {
    case HBD_PLUGIN_HOST_FS_ERROR_NOT_GRANTED:
        snprintf(buf, sizeof buf, "%s: not granted to this plugin (grant it in wasm_plugins)", path);
        break;
    case HBD_PLUGIN_HOST_FS_ERROR_NOT_FOUND:
        snprintf(buf, sizeof buf, "%s: not found (no /proc here?)", path);
        break;
    case HBD_PLUGIN_HOST_FS_ERROR_IO:
        snprintf(buf, sizeof buf, "%s: %.*s", path, (int)e->val.io.len, (const char *)e->val.io.ptr);
        break;
    default:
        snprintf(buf, sizeof buf, "%s: cannot read (error %d)", path, e->tag);
    }
    hbd_plugin_host_fs_error_free(e);
    plugin_string_dup(out, buf);
}

static double setting(plugin_settings_t *config, const char *key, double fallback) {
    for (size_t i = 0; i < config->len; i++) {
        plugin_tuple2_string_string_t *kv = &config->ptr[i];
        if (kv->f0.len == strlen(key) && memcmp(kv->f0.ptr, key, kv->f0.len) == 0) {
            char buf[64] = {0};
            size_t n = kv->f1.len < sizeof buf - 1 ? kv->f1.len : sizeof buf - 1;
            memcpy(buf, kv->f1.ptr, n);
            return atof(buf);
        }
    }
    return fallback;
}

void exports_plugin_describe(plugin_plugin_info_t *ret) {
    plugin_string_dup(&ret->name, "fd_usage_c");
    ret->kind = HBD_PLUGIN_TYPES_PLUGIN_KIND_MONITOR;
    ret->default_interval_s = 60;
    plugin_string_dup(&ret->version, "0.1.0");
    plugin_string_dup(&ret->description, "file handles in use against the limit (written in C)");
}

bool exports_plugin_collect(plugin_settings_t *config, plugin_report_t *ret, plugin_string_t *err) {
    double warning = setting(config, "warning_percent", 80.0);
    double critical = setting(config, "critical_percent", 95.0);
    plugin_settings_free(config);

    plugin_string_t path, text;
    hbd_plugin_host_fs_error_t read_err;
    plugin_string_set(&path, "/proc/sys/fs/file-nr");
    if (!hbd_plugin_host_read_file(&path, &text, &read_err)) {
        describe_fs_error(&read_err, "/proc/sys/fs/file-nr", err);
        return false;
    }
    char buf[128] = {0};
    size_t n = text.len < sizeof buf - 1 ? text.len : sizeof buf - 1;
    memcpy(buf, text.ptr, n);
    plugin_string_free(&text);
    unsigned long long allocated = 0, unused = 0, max = 0;
    if (sscanf(buf, "%llu %llu %llu", &allocated, &unused, &max) != 3 || max == 0) {
        plugin_string_dup(err, "cannot parse /proc/sys/fs/file-nr");
        return false;
    }
    double percent = 100.0 * (double)allocated / (double)max;

    ret->metrics.len = 3;
    ret->metrics.ptr = calloc(3, sizeof(hbd_plugin_types_metric_t));
    set_path(&ret->metrics.ptr[0].path, "handles", "allocated");
    ret->metrics.ptr[0].value.tag = HBD_PLUGIN_TYPES_VALUE_UINT; // counters: unsigned (0.2)
    ret->metrics.ptr[0].value.val.uint = allocated;
    set_path(&ret->metrics.ptr[1].path, "handles", "max");
    ret->metrics.ptr[1].value.tag = HBD_PLUGIN_TYPES_VALUE_UINT;
    ret->metrics.ptr[1].value.val.uint = max;
    set_path(&ret->metrics.ptr[2].path, "percent", NULL);
    ret->metrics.ptr[2].value.tag = HBD_PLUGIN_TYPES_VALUE_FLOAT;
    ret->metrics.ptr[2].value.val.float_ = percent;

    ret->status.is_some = true;
    ret->status.val = percent > critical  ? HBD_PLUGIN_TYPES_STATUS_CRITICAL
                      : percent > warning ? HBD_PLUGIN_TYPES_STATUS_WARNING
                                          : HBD_PLUGIN_TYPES_STATUS_OK;
    char message[128];
    snprintf(message, sizeof message, "%llu of %llu file handles (%.2f%%)", allocated, max, percent);
    ret->message.is_some = true;
    plugin_string_dup(&ret->message.val, message);
    return true;
}
