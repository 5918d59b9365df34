// Counting replacements of the C allocator. They forward to glibc's __libc_* entry points, which are the
// allocator itself (not a lookup through dlsym, which would allocate and recurse), so the cost is one relaxed
// atomic add per call. Only built on glibc systems; elsewhere the counters stay at zero and report inactive.
#define _GNU_SOURCE
#include "CLookoutAllocCounter.h"
#include <stdatomic.h>
#include <stddef.h>

static _Atomic uint64_t allocations;
static _Atomic uint64_t frees;
// The calling thread's own count: lets a benchmark tell its thread's allocations (and those inside one driver call
// made on it) from those of threads it does not own (the CUDA driver's helpers).
static _Thread_local uint64_t thread_allocations;
// Allocations whose immediate caller lies in code registered as the driver's (NVIDIA's libraries, from
// lookout_alloc_counter_attribute_nvidia): what a benchmark charges to the driver rather than to Lookout. An
// allocation the driver makes through another library (libc's strdup, say) is counted as Lookout's: the split errs
// against Lookout.
static _Atomic uint64_t driver_allocations;
#define LOOKOUT_MAX_RANGES 64
static uintptr_t range_start[LOOKOUT_MAX_RANGES];
static uintptr_t range_end[LOOKOUT_MAX_RANGES];
static _Atomic int range_count;

uint64_t lookout_alloc_count(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }
uint64_t lookout_driver_alloc_count(void) { return atomic_load_explicit(&driver_allocations, memory_order_relaxed); }
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

#include <link.h>
#include <string.h>

static inline int in_driver(uintptr_t address) {
    int n = atomic_load_explicit(&range_count, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        if (address >= range_start[i] && address < range_end[i]) return 1;
    }
    return 0;
}

// Inlined into each entry point, so the return address is the entry point's caller.
#define counted()                                                                                                     \
    do {                                                                                                              \
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);                                             \
        thread_allocations++;                                                                                         \
        if (in_driver((uintptr_t)__builtin_return_address(0)))                                                        \
            atomic_fetch_add_explicit(&driver_allocations, 1, memory_order_relaxed);                                  \
    } while (0)

static const char *const driver_libraries[] = {"libcuda.", "libnvrtc", "libcudnn", "libnvidia-", "libnvcuvid", "libnvjpeg"};

static int register_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    const char *name = info->dlpi_name;
    if (name == NULL || name[0] == 0) return 0;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    int driver = 0;
    for (size_t i = 0; i < sizeof(driver_libraries) / sizeof(driver_libraries[0]); i++) {
        if (strncmp(base, driver_libraries[i], strlen(driver_libraries[i])) == 0) driver = 1;
    }
    if (!driver) return 0;
    for (int h = 0; h < info->dlpi_phnum; h++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[h];
        if (segment->p_type != PT_LOAD || (segment->p_flags & PF_X) == 0) continue;
        int n = atomic_load_explicit(&range_count, memory_order_relaxed);
        if (n >= LOOKOUT_MAX_RANGES) return 1;
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        int known = 0;
        for (int i = 0; i < n; i++) known |= range_start[i] == start;
        if (known) continue;
        range_start[n] = start;
        range_end[n] = start + segment->p_memsz;
        atomic_store_explicit(&range_count, n + 1, memory_order_release);
    }
    return 0;
}

int lookout_alloc_counter_attribute_nvidia(void) {
    dl_iterate_phdr(register_object, NULL);
    return atomic_load_explicit(&range_count, memory_order_acquire);
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
int lookout_alloc_counter_attribute_nvidia(void) { return 0; }
#endif
