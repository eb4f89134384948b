/* monitor.c: libzmq socket monitors (see monitor.h). An event is two
 * frames: [u16 event][u32 value] in host order, then the endpoint. */
#include "monitor.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

void *monitor_open(void *ctx, void *socket, const char *name, int events)
{
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "inproc://finsam-monitor-%s-%p", name, socket);
    if (zmq_socket_monitor(socket, endpoint, events) < 0)
        return NULL;
    void *pair = zmq_socket(ctx, ZMQ_PAIR);
    int zero = 0;
    if (!pair || zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_connect(pair, endpoint) < 0) {
        if (pair)
            zmq_close(pair);
        zmq_socket_monitor(socket, NULL, 0);
        return NULL;
    }
    return pair;
}

int monitor_next(void *monitor, uint16_t *event, uint32_t *value, char *endpoint, size_t endpoint_len)
{
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ev);
        return 0;
    }
    zmq_msg_init(&addr);
    if (zmq_msg_more(&ev))
        zmq_msg_recv(&addr, monitor, 0);
    *event = 0;
    *value = 0;
    if (zmq_msg_size(&ev) >= 6) {
        memcpy(event, zmq_msg_data(&ev), 2);
        memcpy(value, (const uint8_t *) zmq_msg_data(&ev) + 2, 4);
    }
    if (endpoint_len) {
        size_t n = zmq_msg_size(&addr) < endpoint_len - 1 ? zmq_msg_size(&addr) : endpoint_len - 1;
        memcpy(endpoint, zmq_msg_data(&addr), n);
        endpoint[n] = '\0';
    }
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return 1;
}
