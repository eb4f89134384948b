/* mapping_int.h: the inside of a mapping_t, shared by mapping.c (loading
 * the INI file) and mapping_row.c (binding a header, building rows). Only
 * those two files and draft.c (which explains a mapping) include it.
 *
 * The design decision: a mapping is parsed once into columns (by header
 * text, header prefix or number), constants ([values]) and label sets, all
 * checked against the catalogue at load; binding only finds columns and
 * building a row only reads cells. */
#ifndef FINSAM_MAPPING_INT_H
#define FINSAM_MAPPING_INT_H

#include "mapping.h"

#include <sys/stat.h>

/* Longest cell, label or header read, in bytes. */
#define MAPPING_MAX_CELL 1000
/* Unmapped column names listed for the summary. */
#define MAPPING_MAX_NAMES 8

/* How a canonical field's cell is read. */
typedef enum {
    MAPPING_F_STR,
    MAPPING_F_PNR,
    MAPPING_F_DATE,
    MAPPING_F_INT,
    MAPPING_F_PCT,
    MAPPING_F_BOOL
} mapping_ftype_t;

typedef struct {
    const char *name;
    mapping_ftype_t type;
    long long min, max; /* MAPPING_F_INT, MAPPING_F_PCT */
    row_field_t row;    /* the same field in a row_fields_t */
} mapping_field_t;

typedef struct {
    char *from; /* normalised source label */
    char *to;   /* canonical value, or the integer for answers */
} mapping_label_t;

typedef struct mapping_labelset {
    char name[CAT_CODE_MAX]; /* "" = [labels] (every answer column), else a field or item */
    mapping_label_t *labels;
    size_t n;
} mapping_labelset_t;

typedef struct {
    char code[CAT_CODE_MAX];      /* field name or item code */
    const mapping_field_t *field; /* NULL for an answer column */
    const cat_scale_t *scale;
    char *spec; /* header as written in the mapping */
    int number; /* #N: 1-based column number, else 0 */
    bool prefix;
    bool required;
    int col; /* bound column, 0-based; -1 before bind */
    /* [labels.CODE] and [labels] (NULL: none), found at bind: the sets do
     * not change after load, and an answer cell asks for both */
    const struct mapping_labelset *own_labels, *all_labels;
} mapping_col_t;

typedef struct {
    const mapping_field_t *field;
    char *text;
    json_t *json; /* text converted (mapping_convert) once at load, for every row; NULL before */
} mapping_value_t;

struct mapping_t {
    const catalogue_t *cat;
    const char *path;
    /* the file as it was read, for mapping_follow */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char sep;
    mapping_encoding_t enc;
    char *sheet; /* [file] sheet: a workbook's sheet by name or number, or NULL */
    mapping_col_t *cols;
    size_t ncols;
    mapping_value_t *values;
    size_t nvalues;
    mapping_labelset_t *sets;
    size_t nsets;
    char *required;  /* [file] required_items, checked after parsing */
    int window_days; /* [file] correction-window-days; -1: the default */
    /* a number no other binding of any mapping had: what mapping_fill's
     * memo of answer cells (row_fields_t) is valid for */
    unsigned long binding;
    /* binding */
    char **headers;
    size_t nheaders, nunmapped;
    char unmapped_names[MAPPING_MAX_NAMES * (CAT_CODE_MAX + 1) + 40 * 7 + 1]; /* names, then "#N" */
    char msg[512];                                                            /* first load error */
};

/* The label set `name` ("" = [labels]), or NULL. */
mapping_labelset_t *mapping_labelset(const mapping_t *self, const char *name);

/* Converts one cell (or a [values] constant) of a canonical field into its
 * JSON value. NULL with the reason in why. */
json_t *mapping_convert(const mapping_t *self, const mapping_field_t *f, const char *cell, char *why,
                        size_t whylen);

/* Forgets the bound header. */
void mapping_unbind(mapping_t *self);

#endif
