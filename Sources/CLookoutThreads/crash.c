// A last word from a crashing process: the signal, the faulting address and the return addresses on the stack, as
// offsets into the binary (`addr2line -e lookout OFFSET` with the unstripped build names them). Swift's checked
// arithmetic and bounds traps end in an illegal instruction with no message in an optimised static binary; this
// says where.
#define _GNU_SOURCE
#include "CLookoutThreads.h"
#include <execinfo.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static uintptr_t program_base;

static int find_program(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    // The first object is the program itself (its name is empty).
    program_base = (uintptr_t)info->dlpi_addr;
    return 1;
}

// Async-signal-safe output: no stdio, no allocation.
static void put(const char *text) { (void)!write(2, text, strlen(text)); }

static void put_hex(uintptr_t value) {
    char buffer[2 + 16 + 1];
    int n = 0;
    buffer[n++] = '0';
    buffer[n++] = 'x';
    int started = 0;
    for (int shift = 60; shift >= 0; shift -= 4) {
        int digit = (int)((value >> shift) & 0xf);
        if (digit != 0 || started || shift == 0) {
            buffer[n++] = "0123456789abcdef"[digit];
            started = 1;
        }
    }
    buffer[n] = 0;
    put(buffer);
}

static void report(int signal, siginfo_t *info, void *context) {
    (void)context;
    const char *name = signal == SIGILL ? "SIGILL (a Swift runtime trap: overflow, bounds, unwrap or precondition)"
                       : signal == SIGSEGV ? "SIGSEGV"
                       : signal == SIGBUS  ? "SIGBUS"
                       : signal == SIGFPE  ? "SIGFPE"
                                           : "SIGABRT";
    put("lookout: fatal ");
    put(name);
    put(" at ");
    put_hex((uintptr_t)info->si_addr - program_base);
    put(" (offset in the binary); stack offsets:");
    void *frames[48];
    int count = backtrace(frames, 48);
    for (int i = 0; i < count; i++) {
        put(" ");
        put_hex((uintptr_t)frames[i] - program_base);
    }
    put("\n");
    // The default action (core, exit status) follows once the handler returns: it was reset on entry.
    raise(signal);
}

void lk_install_crash_report(void) {
    dl_iterate_phdr(find_program, NULL);
    // The first backtrace() loads the unwinder (which allocates): done here, not in the handler.
    void *warm[2];
    (void)backtrace(warm, 2);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = report;
    action.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    int signals[] = {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaction(signals[i], &action, NULL);
}
