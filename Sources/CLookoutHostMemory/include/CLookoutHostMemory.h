// Cache control for host buffers the GPU's copy engine reads: writing back (and evicting) the lines a CPU wrote, or
// writing them with non-temporal stores that bypass the caches, so that a DMA read finds them in memory instead of
// snooping them out of the CPU caches.
#ifndef CLOOKOUT_HOST_MEMORY_H
#define CLOOKOUT_HOST_MEMORY_H
#include <stddef.h>
#include <stdint.h>

/// Writes back and evicts every cache line of [pointer, pointer + bytes) (CLFLUSHOPT where the CPU has it, else
/// CLFLUSH), then fences. A no-op on other architectures.
void lookout_flush_cache_lines(const void *pointer, size_t bytes);
/// 2 with CLFLUSHOPT, 1 with CLFLUSH only, 0 where flushing is a no-op.
int lookout_cache_flush_kind(void);
/// Copies `bytes` from `source` to `destination` with non-temporal (streaming) stores where the destination is
/// 16-byte aligned (ordinary stores for an unaligned head and the tail): the lines go to memory through the
/// write-combining buffers without being read first or left in the caches. Not ordered with later stores: call
/// `lookout_store_fence` before another thread or a device relies on them. A plain copy on other architectures.
void lookout_stream_store(void *destination, const void *source, size_t bytes);
/// Orders the calling thread's earlier non-temporal stores before its later stores (SFENCE).
void lookout_store_fence(void);
/// Stores `value` to `*flag` after every earlier store of this thread (non-temporal ones included) is visible:
/// the host's half of a GPU stream waiting on a memory word.
void lookout_publish_u32(uint32_t *flag, uint32_t value);
/// 1 where `lookout_stream_store` uses non-temporal stores, 0 where it is a plain copy.
int lookout_stream_store_available(void);
#endif
