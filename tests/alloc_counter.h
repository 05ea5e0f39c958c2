// Test-only heap-allocation counter: replaces the global operator new/delete
// of the test binary that includes it (include it in ONE file per binary).
// Counts only while g_count_allocations is set, e.g. around one Compute call,
// to show a warm step allocates nothing. All noinline: once inlined, GCC pairs
// malloc/free with the new/delete expressions and raises a false
// -Wmismatched-new-delete.
#ifndef ADVLAB_TESTS_ALLOC_COUNTER_H_
#define ADVLAB_TESTS_ALLOC_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<int64_t> g_allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
  if (g_count_allocations.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) { return ::operator new(size); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

#endif  // ADVLAB_TESTS_ALLOC_COUNTER_H_
