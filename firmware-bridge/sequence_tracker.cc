#include "firmware-bridge/sequence_tracker.h"

#include <algorithm>
#include <functional>

namespace tributary::firmware {

SequenceTracker::SequenceTracker(std::size_t window, std::size_t max_devices)
    : window_(std::max<std::size_t>(64, (window + 63) / 64 * 64)),
      per_shard_(std::max<std::size_t>(1, (max_devices + kShards - 1) / kShards)) {}

SequenceTracker::Shard& SequenceTracker::shard_of(std::string_view device) {
  return shards_[std::hash<std::string_view>{}(device) % kShards];
}

bool SequenceTracker::test(const Device& d, std::uint32_t sequence) const {
  const std::size_t bit = sequence % window_;
  return (d.seen[bit / 64] >> (bit % 64) & 1u) != 0;
}

void SequenceTracker::set(Device& d, std::uint32_t sequence, bool on) const {
  const std::size_t bit = sequence % window_;
  const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
  d.seen[bit / 64] = on ? d.seen[bit / 64] | mask : d.seen[bit / 64] & ~mask;
}

void SequenceTracker::restart(Device& d, std::uint32_t boot_id, std::uint32_t sequence) const {
  d.boot = boot_id;
  d.newest = sequence;
  d.seen.assign(window_ / 64, 0);
  set(d, sequence, true);
}

bool SequenceTracker::observe(std::string_view device, std::uint32_t boot_id, std::uint32_t sequence) {
  Shard& shard = shard_of(device);
  std::lock_guard lock(shard.mutex);
  auto found = shard.index.find(device);
  if (found == shard.index.end()) {
    if (shard.devices.size() >= per_shard_) {
      shard.index.erase(shard.devices.back().id);
      shard.devices.pop_back();
      counters_.evicted.fetch_add(1, std::memory_order_relaxed);
    }
    shard.devices.push_front(Device{});
    Device& d = shard.devices.front();
    d.id.assign(device);
    restart(d, boot_id, sequence);
    shard.index.emplace(d.id, shard.devices.begin());
    counters_.devices.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  shard.devices.splice(shard.devices.begin(), shard.devices, found->second);
  Device& d = *found->second;
  if (boot_id != d.boot) {
    if (d.has_previous_boot && boot_id == d.previous_boot) {
      counters_.late.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    d.previous_boot = d.boot;
    d.has_previous_boot = true;
    restart(d, boot_id, sequence);
    counters_.reboots.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const auto ahead = static_cast<std::int32_t>(sequence - d.newest);  // modulo 2^32
  if (ahead > 0) {
    const auto step = static_cast<std::uint32_t>(ahead);
    if (step > 1) counters_.gaps.fetch_add(step - 1, std::memory_order_relaxed);
    if (step >= window_) {
      std::fill(d.seen.begin(), d.seen.end(), 0);
    } else {
      for (std::uint32_t s = d.newest + 1; s != sequence; ++s) set(d, s, false);
    }
    d.newest = sequence;
    set(d, sequence, true);
    return true;
  }
  const auto behind = static_cast<std::uint64_t>(-static_cast<std::int64_t>(ahead));
  if (behind >= window_) {
    counters_.late.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (test(d, sequence)) {
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  set(d, sequence, true);
  counters_.reordered.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void SequenceTracker::forget(std::string_view device, std::uint32_t boot_id, std::uint32_t sequence) {
  Shard& shard = shard_of(device);
  std::lock_guard lock(shard.mutex);
  auto found = shard.index.find(device);
  if (found == shard.index.end()) return;
  Device& d = *found->second;
  const auto behind = static_cast<std::int64_t>(static_cast<std::int32_t>(d.newest - sequence));
  if (d.boot == boot_id && behind >= 0 && static_cast<std::uint64_t>(behind) < window_) {
    set(d, sequence, false);
  }
}

}  // namespace tributary::firmware
