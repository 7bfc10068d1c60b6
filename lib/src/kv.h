/* Text settings: the number parsing every setting shares (layer arguments
 * in model specs, the feature and detector config strings), and the reader
 * of config strings, "key=value key=value ..." with the fields separated by
 * spaces, tabs or line breaks, in any order, each key from a fixed table
 * and given at most once. Not part of the public API. */
#ifndef CORTEX_KV_H
#define CORTEX_KV_H

#include <locale.h>
#include <stddef.h>

#include "cortex/core.h"

/* ---- numbers ---------------------------------------------------------------
 * strtol / strtod: a float is read in the current locale, so a config string
 * is parsed between cx_c_locale_enter and cx_c_locale_leave. */

/* Parses a whole token as an integer in [lo, hi]. Returns 0 on success. */
int cx_parse_int(const char *tok, long lo, long hi, int *out);
/* Parses a whole token as a finite float in [lo, hi]. Returns 0 on success. */
int cx_parse_float(const char *tok, double lo, double hi, float *out);
/* cx_parse_float of the number at the start of s; *end gets where it stops. */
int cx_parse_float_at(const char *s, double lo, double hi, const char **end, float *out);
/* The widest range config strings accept for a float field. */
#define CX_PARSE_FLOAT_MAX 3e38
/* If tok is "key=value" with the given key, sets *value and returns 1. */
int cx_parse_kv(const char *tok, const char *key, const char **value);

/* ---- the C locale ----------------------------------------------------------
 * Config strings are read and written in the C locale whatever the
 * application set with setlocale: "0.5" must not become "0,5" (a list
 * separator in the feature config). */

/* Switches this thread to the C locale's number format; returns what
 * cx_c_locale_leave restores. */
locale_t cx_c_locale_enter(void);
void cx_c_locale_leave(locale_t old);

/* The shortest %g form (6 to 9 digits) that cx_parse_float reads back as
 * the same float: "1e-06" rather than "9.99999997e-07". Returns out. */
const char *cx_short_float(char *out, size_t size, float v);

/* ---- config strings -------------------------------------------------------- */

#define CX_KV_MAX_KEYS 16

/* What cx_kv_next read. */
typedef enum cx_kv_result {
    CX_KV_END,       /* no field left */
    CX_KV_FIELD,     /* key index `key` with its `value` */
    CX_KV_TOO_LONG,  /* a field that does not fit the buffer; it starts at `start` */
    CX_KV_NO_EQUALS, /* `field` is not key=value */
    CX_KV_UNKNOWN,   /* `field` (the key) is not in the table */
    CX_KV_REPEATED,  /* key index `key` given before; `value` is this one */
} cx_kv_result;

typedef struct cx_kv {
    const char *rest;        /* the string still to read */
    const char *const *keys; /* nkeys known keys */
    int nkeys;
    int seen[CX_KV_MAX_KEYS]; /* how many times each key was read */
    char *field;              /* the last field, split at '=' (size bytes) */
    size_t size;
    const char *start; /* where the last field starts in the string */
    int key;
    const char *value;
} cx_kv;

/* Starts reading str; field (size bytes) holds one field at a time, so a
 * field must be shorter than size. nkeys <= CX_KV_MAX_KEYS. */
void cx_kv_init(cx_kv *kv, const char *str, const char *const *keys, int nkeys, char *field,
                size_t size);
/* Reads the next field. After a rejected field the reader can go on. */
cx_kv_result cx_kv_next(cx_kv *kv);
/* The error for a CX_KV_NO_EQUALS, CX_KV_UNKNOWN or CX_KV_REPEATED field,
 * worded alike for every config string: "<what>: 'FIELD' is not key=value",
 * "<what>: unknown field 'KEY'", "<what>: field 'KEY' given twice", quoting
 * at most `quote` bytes of what the string holds. Too long fields are
 * worded by the caller. */
cx_status cx_kv_fail(const cx_kv *kv, cx_kv_result r, const char *what, int quote, cx_error *err);

/* The error for a field whose value is wrong: "<what>: field 'FIELD': "
 * followed by the formatted reason (cut to 200 bytes). */
cx_status cx_kv_bad_field(cx_error *err, const char *what, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
