/* Forced into the macOS builds of the Node addon (-include): macOS has memset_s, not
   explicit_bzero, for a wipe the compiler may not elide. */
#define __STDC_WANT_LIB_EXT1__ 1
#include <string.h>
static inline void explicit_bzero(void *p, size_t n) { memset_s(p, n, 0, n); }
