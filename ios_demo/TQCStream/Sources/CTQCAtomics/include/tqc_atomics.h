/*
 * A 64-bit integer that two threads share through C11 atomics.
 *
 * Swift (before Synchronization.Atomic, iOS 18) has no atomics of its own, and the
 * render thread of an audio app must not take a lock. These functions are the whole
 * of what the TQCStream ring buffer and counters need: acquire loads, release stores,
 * a fetch-add, an exchange, a compare-exchange and a fence. The struct is opaque (Swift sees an OpaquePointer) and lives on
 * its own 64-byte cache line, so a producer's and a consumer's counters never share one.
 */
#ifndef TQC_ATOMICS_H
#define TQC_ATOMICS_H

#include <stdint.h>

#if defined(__clang__)
#pragma clang assume_nonnull begin
#else
#define _Nullable
#endif

typedef struct tqc_atomic_i64 tqc_atomic_i64;

/* A new atomic holding `initial`, or NULL when out of memory. */
tqc_atomic_i64 *_Nullable tqc_atomic_i64_create(int64_t initial);
void tqc_atomic_i64_destroy(tqc_atomic_i64 *atomic);

/* memory_order_acquire: what the other thread wrote before its release store is visible. */
int64_t tqc_atomic_i64_load_acquire(const tqc_atomic_i64 *atomic);
/* memory_order_relaxed: for a value only this thread writes, or a statistic. */
int64_t tqc_atomic_i64_load_relaxed(const tqc_atomic_i64 *atomic);
/* memory_order_release: everything written before it is visible to an acquire load that sees it. */
void tqc_atomic_i64_store_release(tqc_atomic_i64 *atomic, int64_t value);
/* Atomic add (memory_order_relaxed, for counters); returns the value before the add. */
int64_t tqc_atomic_i64_fetch_add(tqc_atomic_i64 *atomic, int64_t delta);
/* memory_order_seq_cst exchange; returns the value before. */
int64_t tqc_atomic_i64_exchange(tqc_atomic_i64 *atomic, int64_t value);
/* memory_order_seq_cst compare-and-exchange: stores `desired` only if the value is `*expected`;
 * returns 1 if it did, else 0 with the value seen written to `*expected`. */
int tqc_atomic_i64_compare_exchange(tqc_atomic_i64 *atomic, int64_t *expected, int64_t desired);
/* A sequentially consistent fence: a store before it and a load after it are not reordered
 * (the waiter / waker handshake of the ring buffer's "wait for room" needs exactly that). */
void tqc_atomic_fence_seq_cst(void);

#if defined(__clang__)
#pragma clang assume_nonnull end
#endif

#endif /* TQC_ATOMICS_H */
