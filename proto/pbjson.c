/* pbjson.c: descriptor-driven protobuf-c to JSON (see pbjson.h). */
#include "pbjson.h"

#include <stdlib.h>
#include <string.h>

static json_t *s_value(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *) p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *) p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return json_integer((json_int_t) * (const int64_t *) p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return json_integer((json_int_t) * (const uint64_t *) p);
    case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *) p);
    case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *) p);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *) p);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *) p);
        return ev ? json_string(ev->name) : json_integer(*(const int *) p);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *) p;
        json_t *j = s ? json_stringn(s, strlen(s)) : NULL;
        return j ? j : json_null();
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        static const char digits[] = "0123456789abcdef";
        char *hex = malloc(b->len * 2 + 1);
        if (!hex)
            return NULL;
        for (size_t i = 0; i < b->len; i++) {
            hex[2 * i] = digits[b->data[i] >> 4];
            hex[2 * i + 1] = digits[b->data[i] & 15];
        }
        json_t *j = json_stringn(hex, b->len * 2);
        free(hex);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;
        return m ? pbjson_from_message(m) : json_null();
    }
    }
    return json_null();
}

static size_t s_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 4;
    }
}

json_t *pbjson_from_message(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    json_t *o = json_object();
    if (!o)
        return NULL;
    const char *base = (const char *) msg;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *member = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) (base + f->quantifier_offset);
            if (n == 0)
                continue;
            const char *arr = *(char *const *) member;
            json_t *a = json_array();
            for (size_t j = 0; j < n; j++)
                json_array_append_new(a, s_value(f, arr + j * s_size(f)));
            json_object_set_new(o, f->name, a);
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *) (base + f->quantifier_offset) != f->id)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
            if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (!*(void *const *) member)
                    continue;
            } else if (!*(const protobuf_c_boolean *) (base + f->quantifier_offset)) {
                continue;
            }
        }
        json_object_set_new(o, f->name, s_value(f, member));
    }
    return o;
}
