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
#include <stdlib.h>
#include <string.h>

static inline int in_driver(uintptr_t address) {
    int n = atomic_load_explicit(&range_count, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        if (address >= range_start[i] && address < range_end[i]) return 1;
    }
    return 0;
}

// Call-stack recording (lookout_alloc_sites_record): every `site_every`th allocation that is not the driver's
// unwinds its stack into a fixed table of distinct stacks (no allocation of its own; a stack that finds the table
// full is counted as dropped). The unwinder may allocate the first time it runs: a thread-local flag stops the
// recursion.
#include <dlfcn.h>
#include <stdio.h>
#include <unwind.h>
#define LOOKOUT_SITE_DEPTH 16
#define LOOKOUT_SITES 2048
struct site {
    uintptr_t frames[LOOKOUT_SITE_DEPTH];
    int depth;
    uint64_t count;
};
static struct site sites[LOOKOUT_SITES];
static _Atomic int site_every;
static _Atomic uint64_t sites_dropped;
static _Atomic int site_lock;
static _Thread_local int in_site_recording;

struct unwind_state {
    uintptr_t *frames;
    int depth;
};

static _Unwind_Reason_Code unwind_frame(struct _Unwind_Context *context, void *argument) {
    struct unwind_state *state = argument;
    if (state->depth >= LOOKOUT_SITE_DEPTH) return _URC_END_OF_STACK;
    uintptr_t address = (uintptr_t)_Unwind_GetIP(context);
    if (address == 0) return _URC_END_OF_STACK;
    state->frames[state->depth++] = address;
    return _URC_NO_REASON;
}

static void record_site(void) {
    if (in_site_recording) return;
    in_site_recording = 1;
    uintptr_t frames[LOOKOUT_SITE_DEPTH];
    struct unwind_state state = {frames, 0};
    _Unwind_Backtrace(unwind_frame, &state);
    while (atomic_exchange_explicit(&site_lock, 1, memory_order_acquire)) {}
    int placed = 0;
    for (int i = 0; i < LOOKOUT_SITES; i++) {
        struct site *site = &sites[i];
        if (site->count == 0) {
            memcpy(site->frames, frames, sizeof(uintptr_t) * (size_t)state.depth);
            site->depth = state.depth;
            site->count = 1;
            placed = 1;
            break;
        }
        if (site->depth == state.depth && memcmp(site->frames, frames, sizeof(uintptr_t) * (size_t)state.depth) == 0) {
            site->count++;
            placed = 1;
            break;
        }
    }
    atomic_store_explicit(&site_lock, 0, memory_order_release);
    if (!placed) atomic_fetch_add_explicit(&sites_dropped, 1, memory_order_relaxed);
    in_site_recording = 0;
}

void lookout_alloc_sites_record(int every) {
    while (atomic_exchange_explicit(&site_lock, 1, memory_order_acquire)) {}
    if (every > 0) {
        memset(sites, 0, sizeof(sites));
        atomic_store_explicit(&sites_dropped, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&site_lock, 0, memory_order_release);
    atomic_store_explicit(&site_every, every > 0 ? every : 0, memory_order_release);
}

static int by_count(const void *a, const void *b) {
    const struct site *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

int lookout_alloc_sites_write(const char *path) {
    int every = atomic_exchange_explicit(&site_every, 0, memory_order_acq_rel);
    while (atomic_exchange_explicit(&site_lock, 1, memory_order_acquire)) {}
    int n = 0;
    while (n < LOOKOUT_SITES && sites[n].count > 0) n++;
    qsort(sites, (size_t)n, sizeof(struct site), by_count);
    atomic_store_explicit(&site_lock, 0, memory_order_release);
    in_site_recording = 1;
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        in_site_recording = 0;
        return -1;
    }
    fprintf(file, "# every %dth allocation recorded; %llu recordings dropped (table full)\n", every,
            (unsigned long long)atomic_load(&sites_dropped));
    for (int i = 0; i < n; i++) {
        fprintf(file, "%llu", (unsigned long long)sites[i].count);
        for (int f = 0; f < sites[i].depth; f++) {
            Dl_info info;
            uintptr_t address = sites[i].frames[f];
            // The return address points after the call: one byte back lands inside the calling instruction.
            if (dladdr((void *)(address - 1), &info) && info.dli_fname != NULL) {
                const char *base = strrchr(info.dli_fname, '/');
                fprintf(file, " %s+0x%lx", base ? base + 1 : info.dli_fname,
                        (unsigned long)(address - 1 - (uintptr_t)info.dli_fbase));
            } else {
                fprintf(file, " ?+0x%lx", (unsigned long)address);
            }
        }
        fputc('\n', file);
    }
    fclose(file);
    in_site_recording = 0;
    return n;
}

// Inlined into each entry point, so the return address is the entry point's caller.
#define counted()                                                                                                     \
    do {                                                                                                              \
        uint64_t ticket = atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);                           \
        thread_allocations++;                                                                                         \
        if (in_driver((uintptr_t)__builtin_return_address(0))) {                                                      \
            atomic_fetch_add_explicit(&driver_allocations, 1, memory_order_relaxed);                                  \
        } else {                                                                                                      \
            int every = atomic_load_explicit(&site_every, memory_order_relaxed);                                      \
            if (every > 0 && ticket % (uint64_t)every == 0) record_site();                                            \
        }                                                                                                             \
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
void lookout_alloc_sites_record(int every) { (void)every; }
int lookout_alloc_sites_write(const char *path) {
    (void)path;
    return -1;
}
#endif
