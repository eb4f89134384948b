/* batchq_test.c: agents/import/batchq.c — what one thread pushes another
 * pops, all of it and in order, however the two run (the queue holds
 * fewer than are pushed, so both sides wait on each other). */
#include "testutil.h"

#include "batchq.h"

#include <pthread.h>
#include <stdint.h>

#define S_N 20000

static void *s_producer(void *arg)
{
    batchq_t *q = arg;
    for (uintptr_t i = 1; i <= S_N; i++)
        batchq_push(q, (void *) i);
    return NULL;
}

static void test_order_across_threads(void)
{
    batchq_t *q = batchq_new(3);
    CHECK(q != NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, s_producer, q) == 0);
    for (uintptr_t i = 1; i <= S_N; i++)
        CHECK_EQ((uintptr_t) batchq_pop(q), i);
    CHECK(pthread_join(t, NULL) == 0);
    batchq_destroy(&q);
    CHECK(q == NULL);
    batchq_destroy(&q); /* NULL-safe */
}

static void test_one_thread_within_capacity(void)
{
    batchq_t *q = batchq_new(4);
    CHECK(q != NULL);
    int a, b, c;
    batchq_push(q, &a);
    batchq_push(q, &b);
    CHECK(batchq_pop(q) == &a);
    batchq_push(q, &c);
    CHECK(batchq_pop(q) == &b);
    CHECK(batchq_pop(q) == &c);
    batchq_destroy(&q);
}

static const test_case_t s_cases[] = {
    {"order across threads", test_order_across_threads},
    {"one thread within capacity", test_one_thread_within_capacity},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
