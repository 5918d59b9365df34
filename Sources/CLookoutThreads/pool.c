// A small fork-join pool for the CPU backend's parallel loops. Dispatch's concurrentPerform wakes its worker
// threads lazily (measured ~100–150 µs per call on the 2-core EPYC VM), which is as long as many whole layers;
// here the workers spin briefly after each loop, so back-to-back layers start on every core at once, and only
// sleep (on a condition variable) when no loop came for a while.
#ifdef __linux__
#define _GNU_SOURCE
#include <sched.h>
#endif
#include "CLookoutThreads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define LK_PAUSE() __builtin_ia32_pause()
#else
#define LK_PAUSE() ((void)0)
#endif

struct lk_pool {
    int threads;                 // workers including the caller (worker 0)
    pthread_t *handles;
    pthread_mutex_t run_lock;    // one loop at a time; a second caller runs its loop inline
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    _Atomic uint32_t generation; // bumped once per loop
    // generation (24 bits) << 40 | tasks (20 bits) << 20 | next task (20 bits), in one word so that a task index
    // is claimed only while its own loop is live: a worker that wakes late can never take a task of a newer loop
    // with an older loop's count, and once it holds a task the loop's function and context are stable.
    _Atomic uint64_t state;
    _Atomic int active;          // workers inside a loop
    _Atomic int sleepers;
    _Atomic int stop;
    // The current loop, written before `state` and `generation` are published.
    _Atomic(lk_task_fn) fn;
    _Atomic(void *) context;
    int64_t spin_ns;
};

struct lk_worker_start {
    struct lk_pool *pool;
    int index;
};

static int64_t lk_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

#define LK_FIELD 0xFFFFFu
#define LK_MAX_TASKS ((int)LK_FIELD)

static inline uint64_t lk_state(uint32_t generation, uint32_t tasks) {
    return (uint64_t)(generation & 0xFFFFFFu) << 40 | (uint64_t)tasks << 20;
}

// Claims the next task of loop `generation`, or returns -1 when that loop has none left (or is over).
static inline int64_t lk_claim(struct lk_pool *pool, uint32_t generation) {
    uint64_t s = atomic_load_explicit(&pool->state, memory_order_acquire);
    for (;;) {
        const uint32_t next = (uint32_t)s & LK_FIELD, tasks = (uint32_t)(s >> 20) & LK_FIELD;
        if ((uint32_t)(s >> 40) != (generation & 0xFFFFFFu) || next >= tasks) return -1;
        if (atomic_compare_exchange_weak_explicit(&pool->state, &s, s + 1, memory_order_acq_rel, memory_order_acquire))
            return (int64_t)next;
    }
}

static void *lk_worker_main(void *argument) {
    struct lk_worker_start start = *(struct lk_worker_start *)argument;
    free(argument);
    struct lk_pool *pool = start.pool;
    uint32_t seen = atomic_load(&pool->generation);
    for (;;) {
        // Spin for a while, then sleep until the next loop.
        if (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen) {
            const int64_t until = lk_now_ns() + pool->spin_ns;
            int spins = 0;
            while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen && !atomic_load(&pool->stop)) {
                LK_PAUSE();
                if (++spins == 256) {
                    spins = 0;
                    if (lk_now_ns() > until) break;
                }
            }
            if (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop)) {
                pthread_mutex_lock(&pool->sleep_lock);
                atomic_fetch_add(&pool->sleepers, 1);
                while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop))
                    pthread_cond_wait(&pool->wake, &pool->sleep_lock);
                atomic_fetch_sub(&pool->sleepers, 1);
                pthread_mutex_unlock(&pool->sleep_lock);
            }
        }
        if (atomic_load(&pool->stop)) return NULL;
        atomic_fetch_add(&pool->active, 1);
        const uint32_t generation = atomic_load_explicit(&pool->generation, memory_order_acquire);
        seen = generation;
        int64_t task;
        while ((task = lk_claim(pool, generation)) >= 0) {
            const lk_task_fn fn = atomic_load_explicit(&pool->fn, memory_order_relaxed);
            fn(atomic_load_explicit(&pool->context, memory_order_relaxed), start.index, (int)task);
        }
        atomic_fetch_sub_explicit(&pool->active, 1, memory_order_release);
    }
}

int lk_available_cores(void) {
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

lk_pool *lk_pool_create(int threads, int spin_microseconds) {
    struct lk_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads < 1 ? 1 : threads;
    pool->spin_ns = (int64_t)(spin_microseconds < 0 ? 0 : spin_microseconds) * 1000;
    pthread_mutex_init(&pool->run_lock, NULL);
    pthread_mutex_init(&pool->sleep_lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->handles = calloc((size_t)pool->threads, sizeof(pthread_t));
    int started = 1;
    for (int i = 1; i < pool->threads; i++) {
        struct lk_worker_start *s = malloc(sizeof *s);
        if (!s) break;
        s->pool = pool;
        s->index = i;
        if (pthread_create(&pool->handles[i], NULL, lk_worker_main, s) != 0) {
            free(s);
            break;
        }
        started++;
    }
    pool->threads = started;
    return pool;
}

int lk_pool_threads(const lk_pool *pool) { return pool->threads; }

void lk_pool_run(lk_pool *pool, int tasks, lk_task_fn fn, void *context) {
    if (tasks <= 0) return;
    if (tasks > LK_MAX_TASKS) {
        // More tasks than the state word counts (no caller comes near): run inline.
        for (int t = 0; t < tasks; t++) fn(context, 0, t);
        return;
    }
    if (tasks == 1 || pool->threads == 1 || pthread_mutex_trylock(&pool->run_lock) != 0) {
        // Busy with another caller's loop (or nothing to share): run inline as worker 0 of this loop.
        for (int t = 0; t < tasks; t++) fn(context, 0, t);
        return;
    }
    atomic_store_explicit(&pool->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&pool->context, context, memory_order_relaxed);
    const uint32_t generation = atomic_load(&pool->generation) + 1;
    atomic_store_explicit(&pool->state, lk_state(generation, (uint32_t)tasks), memory_order_release);
    atomic_store(&pool->generation, generation);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->sleep_lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->sleep_lock);
    }
    int64_t task;
    while ((task = lk_claim(pool, generation)) >= 0) fn(context, 0, (int)task);
    // Workers that joined this loop may still be inside a task.
    while (atomic_load_explicit(&pool->active, memory_order_acquire) > 0) LK_PAUSE();
    pthread_mutex_unlock(&pool->run_lock);
}

void lk_pool_destroy(lk_pool *pool) {
    if (!pool) return;
    atomic_store(&pool->stop, 1);
    pthread_mutex_lock(&pool->sleep_lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->sleep_lock);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->handles[i], NULL);
    pthread_mutex_destroy(&pool->run_lock);
    pthread_mutex_destroy(&pool->sleep_lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->handles);
    free(pool);
}

void lk_thread_set_name(const char *name) {
#ifdef __linux__
    char short_name[16];
    strncpy(short_name, name, sizeof short_name - 1);
    short_name[sizeof short_name - 1] = 0;
    pthread_setname_np(pthread_self(), short_name);
#else
    (void)name;
#endif
}
