// A fork-join pool of threads (the CPU backend's parallel loops, the CPU letterbox's bands), in C so that a loop
// costs no allocation and no Swift closure context on the heap.
#ifndef CLOOKOUT_THREADS_H
#define CLOOKOUT_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

/// A fork-join pool: `lk_pool_run` calls fn(context, worker, task) for every task in [0, tasks) on the caller
/// (worker 0) and the pool's threads (workers 1..threads-1), each taking the next task as it finishes one, and
/// returns when all are done. Workers spin `spin_microseconds` after a loop before sleeping. A call made while
/// another thread's loop runs executes inline on its caller (worker 0). Never call it from inside a task.
typedef struct lk_pool lk_pool;
typedef void (*lk_task_fn)(void *context, int worker, int task);
lk_pool *lk_pool_create(int threads, int spin_microseconds);
/// Cores this process may run on (its CPU affinity mask, so `taskset` and cgroup cpusets count), at least 1.
int lk_available_cores(void);
int lk_pool_threads(const lk_pool *pool);
/// Stops and joins the pool's threads and frees it (no loop may be running).
void lk_pool_destroy(lk_pool *pool);
void lk_pool_run(lk_pool *pool, int tasks, lk_task_fn fn, void *context);

/// On a fatal signal (SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGABRT) writes one line to stderr: the signal, the faulting
/// address and the stack's return addresses as offsets into the program (for addr2line), then dies of the signal.
void lk_install_crash_report(void);

/// Names the calling thread (the first 15 bytes are kept), for debuggers and `top -H`.
void lk_thread_set_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif
