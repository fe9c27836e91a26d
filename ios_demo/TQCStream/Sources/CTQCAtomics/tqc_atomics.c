#include "tqc_atomics.h"

#include <stdatomic.h>
#include <stdlib.h>

struct tqc_atomic_i64 {
    _Alignas(64) _Atomic(int64_t) value;
};

tqc_atomic_i64 *tqc_atomic_i64_create(int64_t initial) {
    /* C11 aligned_alloc: the size (64) is a multiple of the alignment, as it requires. */
    tqc_atomic_i64 *atomic = aligned_alloc(_Alignof(struct tqc_atomic_i64), sizeof(struct tqc_atomic_i64));
    if (atomic == NULL) {
        return NULL;
    }
    atomic_init(&atomic->value, initial);
    return atomic;
}

void tqc_atomic_i64_destroy(tqc_atomic_i64 *atomic) {
    free(atomic);
}

int64_t tqc_atomic_i64_load_acquire(const tqc_atomic_i64 *atomic) {
    return atomic_load_explicit(&atomic->value, memory_order_acquire);
}

int64_t tqc_atomic_i64_load_relaxed(const tqc_atomic_i64 *atomic) {
    return atomic_load_explicit(&atomic->value, memory_order_relaxed);
}

void tqc_atomic_i64_store_release(tqc_atomic_i64 *atomic, int64_t value) {
    atomic_store_explicit(&atomic->value, value, memory_order_release);
}

int64_t tqc_atomic_i64_fetch_add(tqc_atomic_i64 *atomic, int64_t delta) {
    return atomic_fetch_add_explicit(&atomic->value, delta, memory_order_relaxed);
}

int64_t tqc_atomic_i64_exchange(tqc_atomic_i64 *atomic, int64_t value) {
    return atomic_exchange_explicit(&atomic->value, value, memory_order_seq_cst);
}

int tqc_atomic_i64_compare_exchange(tqc_atomic_i64 *atomic, int64_t *expected, int64_t desired) {
    return atomic_compare_exchange_strong_explicit(&atomic->value, expected, desired, memory_order_seq_cst,
                                                   memory_order_seq_cst) ? 1 : 0;
}

void tqc_atomic_fence_seq_cst(void) {
    atomic_thread_fence(memory_order_seq_cst);
}
