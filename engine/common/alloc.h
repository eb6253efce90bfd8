// Process-wide allocator settings for LibTorch's CPU tensors (no Qt, no LibTorch here).
#pragma once

namespace attnlab {

/// glibc malloc serves every block above 128 KiB..32 MiB with a fresh mmap() and returns it
/// with munmap() on free, so each large activation/logit tensor of every step pays page
/// faults and kernel zeroing again (measured: over a third of a GPT-2-small forward's wall
/// time in the kernel, docs/benchmarks.md). This keeps freed memory in the heap for reuse:
/// no mmap for large blocks, no trimming, 512 MiB of heap growth per request. Peak RSS stays
/// at its high-water mark instead of shrinking between steps (never trimmed). Call once at the start of main().
/// Skipped when ATTNLAB_SYSTEM_MALLOC is set (or any glibc MALLOC_*_ tunable is, so a user's
/// own settings win). Returns whether the settings were applied.
bool tune_allocator();

}  // namespace attnlab
