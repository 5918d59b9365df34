// Cache control for host buffers the GPU's copy engine reads: writing back (and evicting) the lines a CPU wrote,
// so that a DMA read finds them in memory instead of snooping them out of the CPU caches.
#ifndef CLOOKOUT_HOST_MEMORY_H
#define CLOOKOUT_HOST_MEMORY_H
#include <stddef.h>

/// Writes back and evicts every cache line of [pointer, pointer + bytes) (CLFLUSHOPT where the CPU has it, else
/// CLFLUSH), then fences. A no-op on other architectures.
void lookout_flush_cache_lines(const void *pointer, size_t bytes);
/// 2 with CLFLUSHOPT, 1 with CLFLUSH only, 0 where flushing is a no-op.
int lookout_cache_flush_kind(void);
#endif
