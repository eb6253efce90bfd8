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
  // -1 = never trim (documented in mallopt(3)). A finite threshold (it is an int, so < 2 GiB)
  // still let glibc hand back the top of the heap whenever a training step freed more than
  // that at once (the logits of a 4 x 512 x 50257 batch and their gradients do), and the next
  // step page-faulted it all in again: 30 % of a pretraining step (docs/benchmarks.md).
  ok &= mallopt(M_TRIM_THRESHOLD, -1) == 1;
  ok &= mallopt(M_TOP_PAD, 512 << 20) == 1;
  return ok;
#else
  return false;
#endif
}

}  // namespace attnlab
