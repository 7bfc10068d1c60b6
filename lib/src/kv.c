/* Text settings: see kv.h. */
#include "kv.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers --------------------------------------------------------------- */

int cx_parse_int(const char *tok, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(tok, &end, 10);
    if (errno || end == tok || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int cx_parse_float_at(const char *s, double lo, double hi, const char **end, float *out)
{
    char *stop;
    errno = 0;
    double v = strtod(s, &stop);
    if (errno || stop == s || !isfinite(v) || v < lo || v > hi) return -1;
    *end = stop;
    *out = (float)v;
    return 0;
}

int cx_parse_float(const char *tok, double lo, double hi, float *out)
{
    const char *end;
    float v;
    if (cx_parse_float_at(tok, lo, hi, &end, &v) || *end) return -1;
    *out = v;
    return 0;
}

int cx_parse_kv(const char *tok, const char *key, const char **value)
{
    size_t k = strlen(key);
    if (strncmp(tok, key, k) == 0 && tok[k] == '=') {
        *value = tok + k + 1;
        return 1;
    }
    return 0;
}

/* ---- the C locale ---------------------------------------------------------- */

static locale_t g_c_locale;
static pthread_once_t g_c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void)
{
    g_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

locale_t cx_c_locale_enter(void)
{
    pthread_once(&g_c_locale_once, make_c_locale);
    return g_c_locale ? uselocale(g_c_locale) : (locale_t)0;
}

void cx_c_locale_leave(locale_t old)
{
    if (old) uselocale(old);
}

const char *cx_short_float(char *out, size_t size, float v)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(out, size, "%.*g", digits, (double)v);
        if ((float)strtod(out, NULL) == v) break;
    }
    return out;
}

/* ---- config strings -------------------------------------------------------- */

void cx_kv_init(cx_kv *kv, const char *str, const char *const *keys, int nkeys, char *field,
                size_t size)
{
    memset(kv, 0, sizeof *kv);
    kv->rest = str;
    kv->keys = keys;
    kv->nkeys = nkeys < CX_KV_MAX_KEYS ? nkeys : CX_KV_MAX_KEYS;
    kv->field = field;
    kv->size = size;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

cx_kv_result cx_kv_next(cx_kv *kv)
{
    const char *s = kv->rest;
    while (is_space(*s))
        s++;
    size_t n = 0;
    while (s[n] && !is_space(s[n]))
        n++;
    kv->start = s;
    kv->rest = s + n;
    if (n == 0) return CX_KV_END;
    if (n >= kv->size) return CX_KV_TOO_LONG;
    memcpy(kv->field, s, n);
    kv->field[n] = '\0';
    char *eq = strchr(kv->field, '=');
    if (!eq) return CX_KV_NO_EQUALS;
    *eq = '\0';
    kv->value = eq + 1;
    int f = 0;
    while (f < kv->nkeys && strcmp(kv->field, kv->keys[f]))
        f++;
    if (f == kv->nkeys) return CX_KV_UNKNOWN;
    kv->key = f;
    return kv->seen[f]++ ? CX_KV_REPEATED : CX_KV_FIELD;
}

cx_status cx_kv_fail(const cx_kv *kv, cx_kv_result r, const char *what, int quote, cx_error *err)
{
    switch (r) {
    case CX_KV_NO_EQUALS:
        return cx_fail(err, CX_ERR_ARG, "%s: '%.*s' is not key=value", what, quote, kv->field);
    case CX_KV_UNKNOWN:
        return cx_fail(err, CX_ERR_ARG, "%s: unknown field '%.*s'", what, quote, kv->field);
    case CX_KV_REPEATED:
        return cx_fail(err, CX_ERR_ARG, "%s: field '%s' given twice", what, kv->keys[kv->key]);
    default:
        return cx_fail(err, CX_ERR_ARG, "%s: bad field", what);
    }
}

cx_status cx_kv_bad_field(cx_error *err, const char *what, const char *field, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return cx_fail(err, CX_ERR_ARG, "%s: field '%s': %s", what, field, why);
}
