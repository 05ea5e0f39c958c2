// Arena: one allocation that holds every table of a plain-data model struct
// (cf. MuJoCo's mjModel buffer). A family lays its tables out first (Add<T>),
// allocates once (Allocate, zero-filled, 64-byte aligned slots), then points its
// model struct's fields into the block (Get). The step functions read the model
// through those pointers only, so a second backend copies the whole model with
// one memcpy and rebases the pointers by the difference of the two base
// addresses (Rebase).
//
// Host-only (it owns memory); what it holds is read by ADVLAB_HD code.
#ifndef ADVLAB_SIM_ARENA_H_
#define ADVLAB_SIM_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "sim/check.h"

namespace advlab {

// A typed slot of an arena: `count` elements of T at byte `offset`.
template <class T>
struct ArenaSlot {
  int64_t offset = 0;
  int64_t count = 0;
};

class Arena {
 public:
  static constexpr int64_t kAlign = 64;  // a cache line; every slot starts on one

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&& other) noexcept { *this = static_cast<Arena&&>(other); }
  Arena& operator=(Arena&& other) noexcept {
    if (this != &other) {
      Free();
      data_ = other.data_;
      bytes_ = other.bytes_;
      allocated_ = other.allocated_;
      other.data_ = nullptr;
      other.bytes_ = 0;
      other.allocated_ = false;
    }
    return *this;
  }
  ~Arena() { Free(); }

  // Layout: reserves `count` elements of T (count >= 0). Only before Allocate.
  template <class T>
  ArenaSlot<T> Add(int64_t count) {
    ADVLAB_CHECK(!allocated_);
    ADVLAB_CHECK_GE(count, int64_t{0});
    static_assert(alignof(T) <= kAlign, "arena slots are aligned to 64 bytes");
    ArenaSlot<T> slot{bytes_, count};
    bytes_ += (count * static_cast<int64_t>(sizeof(T)) + kAlign - 1) / kAlign * kAlign;
    return slot;
  }

  // The one allocation, zero-filled.
  void Allocate() {
    ADVLAB_CHECK(!allocated_);
    allocated_ = true;
    if (bytes_ == 0) return;
    data_ = static_cast<std::byte*>(
        ::operator new(static_cast<size_t>(bytes_), std::align_val_t(kAlign)));
    std::memset(data_, 0, static_cast<size_t>(bytes_));
  }

  template <class T>
  T* Get(ArenaSlot<T> slot) {
    ADVLAB_CHECK(allocated_);
    return slot.count == 0 ? nullptr : reinterpret_cast<T*>(data_ + slot.offset);
  }
  template <class T>
  const T* Get(ArenaSlot<T> slot) const {
    ADVLAB_CHECK(allocated_);
    return slot.count == 0 ? nullptr : reinterpret_cast<const T*>(data_ + slot.offset);
  }

  const std::byte* data() const { return data_; }
  int64_t bytes() const { return bytes_; }

 private:
  void Free() {
    if (data_ != nullptr) ::operator delete(data_, std::align_val_t(kAlign));
    data_ = nullptr;
  }

  std::byte* data_ = nullptr;
  int64_t bytes_ = 0;
  bool allocated_ = false;
};

// A pointer into an arena moved to a copy of it at `to` (another backend's
// memory): same offset from the new base.
template <class T>
T* Rebase(T* p, const std::byte* from, std::byte* to) {
  if (p == nullptr) return nullptr;
  return reinterpret_cast<T*>(to + (reinterpret_cast<const std::byte*>(p) - from));
}

}  // namespace advlab

#endif  // ADVLAB_SIM_ARENA_H_
