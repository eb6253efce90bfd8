// Peak live bytes of LibTorch CPU tensors, for the memory checks of the attention variants
// (tests/engine/test_variants.cpp, attnlab-cli bench attention).
//
// While a probe is alive, c10's CPU allocator is wrapped by a counting allocator: every tensor
// storage allocated through it adds its size to a live-bytes counter, its deleter subtracts it,
// and the peak of the counter is kept. This measures what autograd keeps alive between forward
// and backward plus the transients, exactly, without RSS noise (allocator caching, page
// reuse). It does not see BLAS/oneDNN scratch buffers allocated outside c10 (O(1) in T).
// CPU only; one probe at a time.
#pragma once
#include <cstdint>

namespace attnlab {

class CpuMemoryProbe {
 public:
  CpuMemoryProbe();   // installs the counting allocator; peak = current = 0 from here
  ~CpuMemoryProbe();  // restores the previous allocator
  CpuMemoryProbe(const CpuMemoryProbe&) = delete;
  CpuMemoryProbe& operator=(const CpuMemoryProbe&) = delete;
  /// Bytes allocated since construction and still alive.
  int64_t current() const;
  /// Highest value of current() since construction or the last reset_peak().
  int64_t peak() const;
  void reset_peak();
};

}  // namespace attnlab
