#include "CLookoutHostMemory.h"
#include <stdint.h>

#if defined(__x86_64__)
#include <cpuid.h>

static int flush_kind = -1;

int lookout_cache_flush_kind(void) {
    if (flush_kind < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        // CPUID leaf 7, sub-leaf 0: EBX bit 23 is CLFLUSHOPT.
        flush_kind = (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23))) ? 2 : 1;
    }
    return flush_kind;
}

void lookout_flush_cache_lines(const void *pointer, size_t bytes) {
    const uintptr_t line = 64;
    uintptr_t p = (uintptr_t)pointer & ~(line - 1);
    const uintptr_t end = (uintptr_t)pointer + bytes;
    if (lookout_cache_flush_kind() == 2) {
        for (; p < end; p += line) __asm__ volatile("clflushopt (%0)" ::"r"(p) : "memory");
    } else {
        for (; p < end; p += line) __asm__ volatile("clflush (%0)" ::"r"(p) : "memory");
    }
    __asm__ volatile("sfence" ::: "memory");
}
#else
int lookout_cache_flush_kind(void) { return 0; }
void lookout_flush_cache_lines(const void *pointer, size_t bytes) {
    (void)pointer;
    (void)bytes;
}
#endif
