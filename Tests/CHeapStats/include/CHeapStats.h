// Bytes the C heap holds in use, for leak tests (glibc's mallinfo2, all arenas).
#ifndef C_HEAP_STATS_H
#define C_HEAP_STATS_H
#include <stddef.h>
#if defined(__linux__)
#include <malloc.h>
static inline size_t heap_bytes_in_use(void) { return mallinfo2().uordblks; }
#else
static inline size_t heap_bytes_in_use(void) { return 0; }
#endif
#endif
