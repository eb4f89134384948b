/* pbjson.h: any decoded protobuf-c message as JSON (jansson), walking the
 * generated descriptors: field names as in finsam.proto, enums by name,
 * bytes as lower-case hex, unset optional fields left out. Used where a
 * person or a script reads wire messages (finsamctl tail --format json). */
#ifndef FINSAM_PBJSON_H
#define FINSAM_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Returns a new JSON object, or NULL on allocation failure. */
json_t *pbjson_from_message(const ProtobufCMessage *msg);

#endif
