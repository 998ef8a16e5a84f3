#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tributary::firmware {

struct SequenceCounters {
  std::atomic<std::uint64_t> devices{0};     // devices seen for the first time (or again after eviction)
  std::atomic<std::uint64_t> gaps{0};        // sequence numbers skipped when a newer one arrived
  std::atomic<std::uint64_t> duplicates{0};  // frames seen before within the window: dropped
  std::atomic<std::uint64_t> reordered{0};   // older than the newest but not seen: taken (fills a gap)
  std::atomic<std::uint64_t> late{0};        // older than the window: taken, cannot be checked
  std::atomic<std::uint64_t> reboots{0};     // a new boot id: the sequence starts over
  std::atomic<std::uint64_t> evicted{0};     // devices forgotten to stay within max_devices
};

// Tracks the sequence numbers of each device per boot id and says whether a frame is new or
// an exact duplicate of one seen within the last WINDOW sequence numbers. Sequence numbers
// compare modulo 2^32, so a counter that wraps is not a reboot. A frame from the boot before
// the current one (late in the network) is taken and counted as late.
// Memory is bounded: at most MAX_DEVICES devices (the least recently heard is forgotten;
// forgetting is counted) of WINDOW / 8 bytes of bitmap each.
// Thread-safe: the devices are spread over shards, each behind its own mutex.
class SequenceTracker {
 public:
  SequenceTracker(std::size_t window, std::size_t max_devices);

  // True: the frame is new and should be taken. False: an exact duplicate, to drop.
  bool observe(std::string_view device, std::uint32_t boot_id, std::uint32_t sequence);
  // Undoes observe() for a frame that could not be stored after all, so that a resend of
  // it is not taken for a duplicate.
  void forget(std::string_view device, std::uint32_t boot_id, std::uint32_t sequence);

  const SequenceCounters& counters() const { return counters_; }
  std::size_t window() const { return window_; }

 private:
  struct Device {
    std::string id;
    std::uint32_t boot = 0;
    std::uint32_t newest = 0;
    bool has_previous_boot = false;
    std::uint32_t previous_boot = 0;
    std::vector<std::uint64_t> seen;  // bit (sequence % window): seen, for the last WINDOW numbers
  };
  struct Shard {
    std::mutex mutex;
    std::list<Device> devices;  // most recently heard first
    std::unordered_map<std::string_view, std::list<Device>::iterator> index;  // keys view Device::id
  };

  Shard& shard_of(std::string_view device);
  bool test(const Device& d, std::uint32_t sequence) const;
  void set(Device& d, std::uint32_t sequence, bool on) const;
  void restart(Device& d, std::uint32_t boot_id, std::uint32_t sequence) const;

  std::size_t window_;
  std::size_t per_shard_;
  static constexpr std::size_t kShards = 16;
  std::array<Shard, kShards> shards_;
  SequenceCounters counters_;
};

}  // namespace tributary::firmware
