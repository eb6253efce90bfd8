#include "attention/memory_probe.h"

#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <stdexcept>

namespace attnlab {
namespace {

std::atomic<int64_t> g_live{0}, g_peak{0};
std::atomic<bool> g_active{false};
int64_t g_base = 0;  // g_live when the probe started

// Wraps the CPU allocator. LibTorch also calls raw_allocate() (which requires the DataPtr's
// context to be its data pointer), so sizes live in a side table keyed by pointer and the base
// allocator's raw deleter frees the memory.
class CountingAllocator : public c10::Allocator {
 public:
  c10::Allocator* base = nullptr;
  static c10::DeleterFnPtr& base_free() {
    static c10::DeleterFnPtr f = nullptr;
    return f;
  }
  static std::mutex& mu() {
    static auto* m = new std::mutex();  // never destroyed: deleters may run at exit
    return *m;
  }
  static std::unordered_map<void*, int64_t>& sizes() {
    static auto* s = new std::unordered_map<void*, int64_t>();
    return *s;
  }
  static void counting_free(void* p) {
    if (!p) return;
    {
      std::lock_guard<std::mutex> lock(mu());
      auto it = sizes().find(p);
      if (it != sizes().end()) {
        g_live.fetch_sub(it->second);
        sizes().erase(it);
      }
    }
    base_free()(p);
  }
  c10::DataPtr allocate(size_t n) const override {
    auto inner = base->allocate(n);
    void* data = inner.get();
    auto device = inner.device();
    if (inner.get_context() != data) return inner;  // not the default layout: leave uncounted
    inner.release_context();                        // ownership moves to counting_free
    if (data) {
      std::lock_guard<std::mutex> lock(mu());
      sizes()[data] = static_cast<int64_t>(n);
    }
    const int64_t now = g_live.fetch_add(static_cast<int64_t>(n)) + static_cast<int64_t>(n);
    int64_t prev = g_peak.load();
    while (now > prev && !g_peak.compare_exchange_weak(prev, now)) {
    }
    return {data, data, &counting_free, device};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &counting_free; }
};

CountingAllocator& counting() {
  static auto* a = new CountingAllocator();  // never destroyed: deleters may run at exit
  return *a;
}

constexpr uint8_t kPriority = 255;

}  // namespace

CpuMemoryProbe::CpuMemoryProbe() {
  if (g_active.exchange(true)) throw std::logic_error("CpuMemoryProbe: only one probe at a time");
  auto& a = counting();
  a.base = c10::GetCPUAllocator();
  if (!a.base->raw_deleter()) {
    g_active = false;
    throw std::logic_error("CpuMemoryProbe: the CPU allocator has no raw deleter");
  }
  CountingAllocator::base_free() = a.base->raw_deleter();
  c10::SetCPUAllocator(&a, kPriority);
  g_base = g_live.load();
  g_peak = g_base;
}
CpuMemoryProbe::~CpuMemoryProbe() {
  c10::SetCPUAllocator(counting().base, kPriority);
  g_active = false;
}
int64_t CpuMemoryProbe::current() const { return g_live.load() - g_base; }
int64_t CpuMemoryProbe::peak() const { return g_peak.load() - g_base; }
void CpuMemoryProbe::reset_peak() { g_peak = g_live.load(); }

}  // namespace attnlab
