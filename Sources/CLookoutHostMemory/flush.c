#include "CLookoutHostMemory.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <emmintrin.h>

void lookout_stream_store(void *destination, const void *source, size_t bytes) {
    unsigned char *d = destination;
    const unsigned char *s = source;
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;
    if (head > bytes) head = bytes;
    memcpy(d, s, head);
    d += head;
    s += head;
    bytes -= head;
    // SSE2 is part of x86-64: MOVNTDQ from unaligned loads, four at a time (one cache line).
    for (; bytes >= 64; bytes -= 64, d += 64, s += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + 48));
        _mm_stream_si128((__m128i *)d, a);
        _mm_stream_si128((__m128i *)(d + 16), b);
        _mm_stream_si128((__m128i *)(d + 32), c);
        _mm_stream_si128((__m128i *)(d + 48), e);
    }
    for (; bytes >= 16; bytes -= 16, d += 16, s += 16) _mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
    memcpy(d, s, bytes);
}

void lookout_store_fence(void) { _mm_sfence(); }

int lookout_stream_store_available(void) { return 1; }

void lookout_publish_u32(uint32_t *flag, uint32_t value) {
    _mm_sfence();
    __atomic_store_n(flag, value, __ATOMIC_RELEASE);
}

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
void lookout_stream_store(void *destination, const void *source, size_t bytes) { memcpy(destination, source, bytes); }
void lookout_store_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
int lookout_stream_store_available(void) { return 0; }
void lookout_publish_u32(uint32_t *flag, uint32_t value) { __atomic_store_n(flag, value, __ATOMIC_SEQ_CST); }
int lookout_cache_flush_kind(void) { return 0; }
void lookout_flush_cache_lines(const void *pointer, size_t bytes) {
    (void)pointer;
    (void)bytes;
}
#endif
