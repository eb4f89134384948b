/* cell.c: cell keys, periods, slices and derived values (see cell.h). */
#include "cell.h"

#include "tdist.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void cell_key_encode(uint8_t out[CELL_KEY_LEN], const cell_key_t *key)
{
    memset(out, 0, CELL_KEY_LEN);
    memcpy(out, key->measure, strnlen(key->measure, CELL_MEASURE_LEN));
    memcpy(out + CELL_MEASURE_LEN, key->forbund, strnlen(key->forbund, CELL_FORBUND_LEN));
    be32_put(out + 40, key->period);
    out[44] = (uint8_t) (key->slice >> 8);
    out[45] = (uint8_t) key->slice;
}

int cell_key_decode(cell_key_t *key, const uint8_t *in, size_t len)
{
    if (len != CELL_KEY_LEN)
        return -1;
    memset(key, 0, sizeof *key);
    memcpy(key->measure, in, CELL_MEASURE_LEN);
    memcpy(key->forbund, in + CELL_MEASURE_LEN, CELL_FORBUND_LEN);
    key->period = be32_get(in + 40);
    key->slice = (uint16_t) (in[44] << 8 | in[45]);
    return 0;
}

uint32_t cell_period(period_kind_t kind, int year, int sub)
{
    uint32_t v = kind == PERIOD_YEAR      ? (uint32_t) year
                 : kind == PERIOD_QUARTER ? (uint32_t) (year * 10 + sub)
                                          : (uint32_t) (year * 100 + sub);
    return (uint32_t) kind << 28 | v;
}

period_kind_t cell_period_kind(uint32_t period)
{
    return (period_kind_t) (period >> 28);
}

void cell_period_format(char *out, size_t outlen, uint32_t period)
{
    uint32_t v = period & 0x0fffffff;
    switch (cell_period_kind(period)) {
    case PERIOD_YEAR: snprintf(out, outlen, "%u", v); break;
    case PERIOD_QUARTER: snprintf(out, outlen, "%u-Q%u", v / 10, v % 10); break;
    case PERIOD_MONTH: snprintf(out, outlen, "%u-%02u", v / 100, v % 100); break;
    default: snprintf(out, outlen, "?"); break;
    }
}

int cell_period_parse(const char *text, uint32_t *period)
{
    int y, s;
    char tail;
    if (sscanf(text, "%4d-Q%1d%c", &y, &s, &tail) == 2 && s >= 1 && s <= 4)
        *period = cell_period(PERIOD_QUARTER, y, s);
    else if (sscanf(text, "%4d-%2d%c", &y, &s, &tail) == 2 && s >= 1 && s <= 12)
        *period = cell_period(PERIOD_MONTH, y, s);
    else if (sscanf(text, "%4d%c", &y, &tail) == 1)
        *period = cell_period(PERIOD_YEAR, y, 0);
    else
        return -1;
    return y >= 2000 && y <= 2100 ? 0 : -1;
}

uint32_t cell_period_prev(uint32_t period)
{
    uint32_t v = period & 0x0fffffff;
    switch (cell_period_kind(period)) {
    case PERIOD_YEAR: return cell_period(PERIOD_YEAR, (int) v - 1, 0);
    case PERIOD_QUARTER:
        return v % 10 == 1 ? cell_period(PERIOD_QUARTER, (int) v / 10 - 1, 4)
                           : cell_period(PERIOD_QUARTER, (int) v / 10, (int) v % 10 - 1);
    default:
        return v % 100 == 1 ? cell_period(PERIOD_MONTH, (int) v / 100 - 1, 12)
                            : cell_period(PERIOD_MONTH, (int) v / 100, (int) v % 100 - 1);
    }
}

uint32_t cell_period_year_before(uint32_t period)
{
    uint32_t v = period & 0x0fffffff;
    switch (cell_period_kind(period)) {
    case PERIOD_YEAR: return cell_period(PERIOD_YEAR, (int) v - 1, 0);
    case PERIOD_QUARTER: return cell_period(PERIOD_QUARTER, (int) v / 10 - 1, (int) v % 10);
    default: return cell_period(PERIOD_MONTH, (int) v / 100 - 1, (int) v % 100);
    }
}

uint32_t cell_period_parent(uint32_t period)
{
    uint32_t v = period & 0x0fffffff;
    switch (cell_period_kind(period)) {
    case PERIOD_QUARTER: return cell_period(PERIOD_YEAR, (int) v / 10, 0);
    case PERIOD_MONTH: return cell_period(PERIOD_QUARTER, (int) v / 100, (int) (v % 100 + 2) / 3);
    default: return 0;
    }
}

int cell_period_year(uint32_t period)
{
    uint32_t v = period & 0x0fffffff;
    switch (cell_period_kind(period)) {
    case PERIOD_QUARTER: return (int) v / 10;
    case PERIOD_MONTH: return (int) v / 100;
    default: return (int) v;
    }
}

uint16_t cell_slice(slice_dim_t dim, int value)
{
    return dim == SLICE_ALL ? 0 : (uint16_t) (dim << 8 | (value & 0xff));
}

/* Slice names per dimension, indexed by the wire enum values (0 unused). */
static const char *const s_modes[] = {"", "project", "integrated"};
static const char *const s_agencies[] = {"", "af", "fk", "region", "municipality", "forbund", "other"};
static const char *const s_genders[] = {"", "woman", "man", "other"};
static const char *const s_ages[] = {"", "16-29", "30-49", "50-64", "65+"};
static const struct {
    const char *name;
    const char *const *values;
    int n;
} s_dims[SLICE_DIMS] = {
    [SLICE_MODE] = {"mode", s_modes, 3},
    [SLICE_AGENCY] = {"agency", s_agencies, 7},
    [SLICE_GENDER] = {"gender", s_genders, 4},
    [SLICE_AGE] = {"age", s_ages, 5},
};

void cell_slice_format(char *out, size_t outlen, uint16_t slice)
{
    int dim = slice >> 8, v = slice & 0xff;
    if (slice == 0)
        snprintf(out, outlen, "all");
    else if (dim > 0 && dim < SLICE_DIMS && v > 0 && v < s_dims[dim].n)
        snprintf(out, outlen, "%s=%s", s_dims[dim].name, s_dims[dim].values[v]);
    else
        snprintf(out, outlen, "slice=%u", slice);
}

int cell_slice_count(void)
{
    int n = 1;
    for (int dim = 1; dim < SLICE_DIMS; dim++)
        n += s_dims[dim].n - 1;
    return n;
}

uint16_t cell_slice_at(int i)
{
    for (int dim = 1; dim < SLICE_DIMS && i > 0; dim++) {
        if (i < s_dims[dim].n)
            return cell_slice((slice_dim_t) dim, i);
        i -= s_dims[dim].n - 1;
    }
    return 0;
}

void cell_slice_list(char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < cell_slice_count() && used < outlen; i++) {
        char name[32];
        cell_slice_format(name, sizeof name, cell_slice_at(i));
        used += (size_t) snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", name);
    }
}

int cell_slice_parse(const char *text, uint16_t *slice)
{
    if (!strcmp(text, "all")) {
        *slice = 0;
        return 0;
    }
    for (int dim = 1; dim < SLICE_DIMS; dim++) {
        size_t len = strlen(s_dims[dim].name);
        if (strncmp(text, s_dims[dim].name, len) || text[len] != '=')
            continue;
        for (int v = 1; v < s_dims[dim].n; v++)
            if (!strcmp(text + len + 1, s_dims[dim].values[v])) {
                *slice = cell_slice((slice_dim_t) dim, v);
                return 0;
            }
    }
    return -1;
}

/* cell_t is 24 int64_t fields and nothing else, so field i is at 8 * i. */
_Static_assert(sizeof(cell_t) == CELL_STATE_LEN && CELL_STATE_LEN % 8 == 0, "cell_t is 24 int64 fields");

void cell_state_encode(uint8_t out[CELL_STATE_LEN], const cell_t *c)
{
    const uint8_t *p = (const uint8_t *) c;
    for (size_t i = 0; i < CELL_STATE_LEN; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        for (int b = 0; b < 8; b++, v >>= 8)
            out[i + (size_t) b] = (uint8_t) v;
    }
}

int cell_state_decode(cell_t *c, const void *in, size_t len)
{
    if (len != CELL_STATE_LEN)
        return -1;
    const uint8_t *q = in;
    uint8_t *p = (uint8_t *) c;
    for (size_t i = 0; i < CELL_STATE_LEN; i += 8) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; b--)
            v = v << 8 | q[i + (size_t) b];
        memcpy(p + i, &v, 8);
    }
    return 0;
}

void cell_add(cell_t *a, const cell_t *b, int sign)
{
    a->n += sign * b->n;
    a->sum += sign * b->sum;
    a->sumsq += sign * b->sumsq;
    a->hits += sign * b->hits;
    a->dont_know += sign * b->dont_know;
    a->units += sign * b->units;
    for (int i = 0; i < CELL_HIST; i++)
        a->hist[i] += sign * b->hist[i];
    a->ckey = (int64_t) ((uint32_t) a->ckey + (uint32_t) sign * (uint32_t) b->ckey);
    a->okey = (int64_t) ((uint32_t) a->okey + (uint32_t) sign * (uint32_t) b->okey);
}

bool cell_is_zero(const cell_t *c)
{
    static const cell_t zero;
    return memcmp(c, &zero, sizeof zero) == 0;
}

void cell_values(const cat_measure_t *m, const cell_t *c, int min_units, cell_values_t *out)
{
    memset(out, 0, sizeof *out);
    out->n = c->n;
    out->units = c->units;
    out->suppressed = min_units > 0 && c->units < min_units;
    if (out->suppressed || c->n <= 0)
        return;
    double n = (double) c->n;
    out->sum = c->sum;
    out->hits = c->hits;
    out->mean = (double) c->sum / n;
    double var = c->n > 1 ? ((double) c->sumsq - (double) c->sum * (double) c->sum / n) / (n - 1) : 0;
    out->sd = var > 0 ? sqrt(var) : 0;
    double half = c->n > 1 ? tdist_t975((long) n - 1) * out->sd / sqrt(n) : 0;
    out->ci_low = out->mean - half;
    out->ci_high = out->mean + half;
    out->share = (double) c->hits / n;
    /* A ratio's observation is a report: hits its part, sum its total. */
    if (m->aggregate == AGG_RATIO)
        out->share = c->sum > 0 ? (double) c->hits / (double) c->sum : 0;
}

void cell_quantiles(const cat_measure_t *m, const dist_t *d, cell_quantiles_t *out)
{
    memset(out, 0, sizeof *out);
    if (d->total <= 0)
        return;
    if (m->aggregate == AGG_MEDIAN_DAYS) {
        /* Twice a quantile is a whole number: (2q + 1) / 2 rounds a half
         * up (day counts are never negative). */
        out->q1 = (double) ((dist_quantile2(d, 1, 4) + 1) / 2);
        out->median = (double) ((dist_quantile2(d, 1, 2) + 1) / 2);
        out->q3 = (double) ((dist_quantile2(d, 3, 4) + 1) / 2);
        out->has_median = out->has_quartiles = true;
    } else if (m->aggregate == AGG_ORDINAL) {
        out->median = (double) dist_quantile2(d, 1, 2) / 2;
        out->has_median = true;
    }
}
