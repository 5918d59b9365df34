// Process-wide counters of heap allocations, for the "allocations per frame" column of the benchmarks.
// Linking this target replaces malloc and friends for the whole process (the dlopen'ed CUDA libraries too):
// each call bumps a relaxed atomic and forwards to glibc's own allocator.
#ifndef CLOOKOUT_ALLOC_COUNTER_H
#define CLOOKOUT_ALLOC_COUNTER_H
#include <stdint.h>

/// Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc) since start.
uint64_t lookout_alloc_count(void);
/// Allocations made by the calling thread since it started (0 where the counter is inactive).
uint64_t lookout_thread_alloc_count(void);
/// Allocations whose caller was in a library registered as the driver's (see the next function).
uint64_t lookout_driver_alloc_count(void);
/// Registers the code of the NVIDIA libraries loaded now (libcuda, libnvrtc, libcudnn, libnvidia-*, libnvcuvid,
/// libnvjpeg): allocations called from them count as the driver's from here on. Returns the ranges registered.
int lookout_alloc_counter_attribute_nvidia(void);
/// Calls of free with a non-null pointer since start.
uint64_t lookout_free_count(void);
/// 1 when this process's malloc is the counting one (the interposer is linked and glibc's is reachable).
int lookout_alloc_counter_active(void);
/// Starts recording the call stacks of every `every`th allocation not made by the driver (0 stops recording); the
/// stacks of earlier recordings are forgotten. For finding where a benchmark's allocations come from.
void lookout_alloc_sites_record(int every);
/// Writes the recorded stacks to `path`, most frequent first, one per line: the count, then each frame as
/// `object+offset` (offsets within the object's file, for addr2line against the unstripped binary). Returns the
/// distinct stacks written, or -1 when the file cannot be written.
int lookout_alloc_sites_write(const char *path);
#endif
