// Counting replacements of the C allocator. They forward to glibc's __libc_* entry points, which are the
// allocator itself (not a lookup through dlsym, which would allocate and recurse), so the cost is one relaxed
// atomic add per call. Only built on glibc systems; elsewhere the counters stay at zero and report inactive.
#include "CLookoutAllocCounter.h"
#include <stdatomic.h>
#include <stddef.h>

static _Atomic uint64_t allocations;
static _Atomic uint64_t frees;
// The calling thread's own count: lets a benchmark tell its thread's allocations (and those inside one driver call
// made on it) from those of threads it does not own (the CUDA driver's helpers).
static _Thread_local uint64_t thread_allocations;

uint64_t lookout_alloc_count(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }
uint64_t lookout_thread_alloc_count(void) { return thread_allocations; }
uint64_t lookout_free_count(void) { return atomic_load_explicit(&frees, memory_order_relaxed); }

#if defined(__linux__) && defined(__GLIBC__)
#include <errno.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);

static inline void counted(void) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    thread_allocations++;
}

int lookout_alloc_counter_active(void) { return 1; }

void *malloc(size_t size) {
    counted();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    counted();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    // realloc(p, 0) frees; any other call may move the block, so it counts as an allocation.
    if (size != 0 || pointer == NULL) counted();
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    if (pointer != NULL) atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
    __libc_free(pointer);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    counted();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *result = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

void *valloc(size_t size) {
    counted();
    return __libc_valloc(size);
}
#else
int lookout_alloc_counter_active(void) { return 0; }
#endif
