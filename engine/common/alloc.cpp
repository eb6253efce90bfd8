#include "common/alloc.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace attnlab {

bool tune_allocator() {
#if defined(__GLIBC__)
  if (std::getenv("ATTNLAB_SYSTEM_MALLOC") || std::getenv("MALLOC_MMAP_MAX_") || std::getenv("MALLOC_MMAP_THRESHOLD_") ||
      std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("MALLOC_TOP_PAD_") || std::getenv("GLIBC_TUNABLES"))
    return false;
  bool ok = mallopt(M_MMAP_MAX, 0) == 1;
  ok &= mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;  // int: at most ~2 GiB
  ok &= mallopt(M_TOP_PAD, 512 << 20) == 1;
  return ok;
#else
  return false;
#endif
}

}  // namespace attnlab
