#include <sqlite3.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// sqlite3_db_config is variadic, which Swift cannot call.
static inline int omnigate_sqlite3_no_checkpoint_on_close(sqlite3 *db) {
    int set = 0;
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &set);
}

// ---------------------------------------------------------------------------------------------
// The shared-memory guard. SQLite maps a WAL database's index, the "-shm" file, into memory
// (https://sqlite.org/walformat.html#shm). When that file can no longer be written (made
// immutable, truncated, its filesystem failed), the next store into the mapping raises SIGBUS,
// which kills the process with every live call. This handler is C because Swift code must not
// run in a signal handler (its runtime may lock or allocate). For a fault inside a "-shm"
// mapping it swaps the page for a private copy, so the faulting store completes, counts the
// fault and returns; the store sees the count change, treats its connections as broken and
// reopens the file when it can be written again. Any other SIGBUS gets the previous action.
// ---------------------------------------------------------------------------------------------

typedef struct {
    volatile sig_atomic_t faults;
    int memory;          // /proc/self/mem, to copy a page without touching it
    long page;           // the page size
    int installed;
    volatile char busy;  // one page swap at a time (they share `buffer` and `swapped`)
    unsigned char *buffer;
    struct sigaction previous;
    // Pages already swapped: a second thread that faulted on the same page before the swap
    // finds it here (its line in /proc/self/maps no longer names the -shm file) and retries.
    uintptr_t swapped[256];
    int swappedCount;
} omnigate_shm_guard_state;

static inline omnigate_shm_guard_state *omnigate_shm_guard(void) {
    static omnigate_shm_guard_state state = { 0, -1, 0, 0, 0, 0 };
    return &state;
}

static inline int omnigate_shm_page_swapped(omnigate_shm_guard_state *state, uintptr_t page) {
    for (int i = 0; i < state->swappedCount; i++) if (state->swapped[i] == page) return 1;
    return 0;
}

static inline uintptr_t omnigate_hex(const char *text, int *i, int length) {
    uintptr_t value = 0;
    for (; *i < length; (*i)++) {
        char c = text[*i];
        if (c >= '0' && c <= '9') value = value * 16 + (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f') value = value * 16 + (uintptr_t)(c - 'a' + 10);
        else break;
    }
    return value;
}

// True when `line` (one line of /proc/self/maps) maps a file named "…-shm" over `address`.
static inline int omnigate_shm_line_holds(const char *line, int length, uintptr_t address) {
    int i = 0;
    uintptr_t start = omnigate_hex(line, &i, length);
    if (i >= length || line[i] != '-') return 0;
    i++;
    uintptr_t end = omnigate_hex(line, &i, length);
    if (address < start || address >= end) return 0;
    // The path is the last field; a deleted file reads "path (deleted)".
    static const char deleted[] = " (deleted)";
    int stop = length;
    int deletedLength = (int)sizeof(deleted) - 1;
    if (stop >= deletedLength && memcmp(line + stop - deletedLength, deleted, (size_t)deletedLength) == 0) stop -= deletedLength;
    return stop >= 4 && memcmp(line + stop - 4, "-shm", 4) == 0;
}

// Async-signal-safe: open, read and close only, on a stack buffer.
static inline int omnigate_shm_mapping_holds(uintptr_t address) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char chunk[4096];
    char line[1024];
    int used = 0, found = 0, overflow = 0;
    ssize_t n;
    while (!found && (n = read(fd, chunk, sizeof chunk)) > 0) {
        for (ssize_t k = 0; k < n && !found; k++) {
            if (chunk[k] == '\n') {
                if (!overflow) found = omnigate_shm_line_holds(line, used, address);
                used = 0;
                overflow = 0;
            } else if (used < (int)sizeof line) {
                line[used++] = chunk[k];
            } else {
                overflow = 1;
            }
        }
    }
    close(fd);
    return found;
}

static inline void omnigate_shm_guard_handler(int number, siginfo_t *info, void *context) {
    (void)number;
    (void)context;
    omnigate_shm_guard_state *state = omnigate_shm_guard();
    uintptr_t address = (uintptr_t)info->si_addr;
    if (state->buffer) {
        // The lock covers the check too: two threads can fault on one page at once.
        while (__atomic_test_and_set(&state->busy, __ATOMIC_ACQUIRE)) {}
        uintptr_t page = address & ~((uintptr_t)state->page - 1);
        // A page swapped before and no longer a -shm mapping: another thread's fault swapped it.
        // (A -shm file mapped again at the same address is swapped again.)
        int absorbed = 0;
        if (!omnigate_shm_mapping_holds(address)) {
            absorbed = omnigate_shm_page_swapped(state, page);
        } else {
            ssize_t copied = state->memory >= 0 ? pread(state->memory, state->buffer, (size_t)state->page, (off_t)page) : -1;
            void *fresh = mmap((void *)page, (size_t)state->page, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            if (fresh != MAP_FAILED) {
                if (copied == state->page) memcpy(fresh, state->buffer, (size_t)state->page);
                if (!omnigate_shm_page_swapped(state, page)
                    && state->swappedCount < (int)(sizeof state->swapped / sizeof state->swapped[0])) {
                    state->swapped[state->swappedCount++] = page;
                }
                state->faults++;
                absorbed = 1;
            }
        }
        __atomic_clear(&state->busy, __ATOMIC_RELEASE);
        if (absorbed) return;
    }
    // Not a fault we can absorb: the previous action runs when the access repeats.
    sigaction(SIGBUS, &state->previous, 0);
}

// Installs the handler once; returns 0, or -1 with errno.
static inline int omnigate_shm_guard_install(void) {
    omnigate_shm_guard_state *state = omnigate_shm_guard();
    if (state->installed) return 0;
    state->page = sysconf(_SC_PAGESIZE);
    state->memory = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    void *buffer = mmap(0, (size_t)state->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buffer == MAP_FAILED) return -1;
    state->buffer = (unsigned char *)buffer;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = omnigate_shm_guard_handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &state->previous) != 0) return -1;
    state->installed = 1;
    return 0;
}

// How many -shm page faults the guard has absorbed since the process started.
static inline long omnigate_shm_guard_faults(void) {
    return (long)omnigate_shm_guard()->faults;
}
