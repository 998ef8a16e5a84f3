// Disk ring benchmark: prints figures, asserts nothing.
//
//   build/release/bench/ring_bench [DIR] [--records N] [--only POLICY/APPENDERS]
//
// For each fsync policy and appender count: append throughput of 256-byte events (records/s
// and MB/s of frames), then read-back throughput with CRC verification, then recovery time.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "buffer/ring.h"

namespace {

using namespace tributary::buffer;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Figures {
  double append_rate = 0;
  double read_rate = 0;
  double recovery_ms = 0;
};

Figures run(const std::string& dir, FsyncPolicy policy, unsigned appenders, std::uint64_t records) {
  std::filesystem::remove_all(dir);
  PosixFileIo io;
  RingOptions o;
  o.dir = dir;
  o.fsync = policy;
  o.max_bytes = 8ull << 30;
  o.segment_bytes = 64ull << 20;
  std::string error;
  Figures f;
  const std::string body(256, 'e');
  {
    auto ring = Ring::open(io, o, nullptr, &error);
    if (!ring) {
      std::fprintf(stderr, "open: %s\n", error.c_str());
      return f;
    }
    std::atomic<std::uint64_t> done{0};
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < appenders; ++t) {
      threads.emplace_back([&, t] {
        // Closed loop per appender under `always` (as a client waiting for its answer);
        // open loop otherwise, backing off only when the ring is full.
        for (std::uint64_t i = t; i < records; i += appenders) {
          if (policy == FsyncPolicy::kAlways) {
            std::atomic<bool> ok{false};
            while (ring->append(0, body, [&](std::error_code, std::uint64_t) { ok = true; }) !=
                   Ring::Append::kQueued) {
              std::this_thread::yield();
            }
            while (!ok.load()) std::this_thread::yield();
            done.fetch_add(1);
          } else {
            while (ring->append(0, body, [&](std::error_code, std::uint64_t) { done.fetch_add(1); }) !=
                   Ring::Append::kQueued) {
              std::this_thread::yield();
            }
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    while (done.load() < records) std::this_thread::sleep_for(std::chrono::microseconds(200));
    f.append_rate = static_cast<double>(records) / seconds_since(start);

    const auto read_start = Clock::now();
    std::uint64_t next = 0;
    std::uint64_t seen = 0;
    while (next < ring->written_seq()) {
      next = ring->read(next, 10000, [&](const RecordView&) { ++seen; });
    }
    f.read_rate = static_cast<double>(seen) / seconds_since(read_start);
  }
  RecoveryReport report;
  auto reopened = Ring::open(io, o, &report, &error);
  f.recovery_ms = static_cast<double>(report.duration.count()) / 1000.0;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/tributary-ring-bench";
  std::uint64_t records = 2'000'000;
  std::string only;  // e.g. "interval/1": run just that case (for a profiler)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--records" && i + 1 < argc) {
      records = std::stoull(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      dir = a;
    }
  }
  const double frame = 256 + kRecordHeaderSize;
  std::printf("ring_bench: 256-byte events (%.0f-byte frames), 64 MiB segments, dir %s\n", frame,
              dir.c_str());
  std::printf("%-9s %-9s %10s %14s %9s %16s %12s\n", "fsync", "appenders", "records", "append rec/s",
              "MB/s", "read rec/s", "recovery ms");
  struct Case {
    FsyncPolicy policy;
    const char* name;
    unsigned appenders;
    std::uint64_t records;
  };
  const Case cases[] = {
      {FsyncPolicy::kInterval, "interval", 1, records},
      {FsyncPolicy::kInterval, "interval", 4, records},
      {FsyncPolicy::kAlways, "always", 1, std::min<std::uint64_t>(records, 5'000)},
      {FsyncPolicy::kAlways, "always", 4, std::min<std::uint64_t>(records, 20'000)},
      {FsyncPolicy::kAlways, "always", 16, std::min<std::uint64_t>(records, 50'000)},
  };
  for (const Case& c : cases) {
    if (!only.empty() && only != std::string(c.name) + "/" + std::to_string(c.appenders)) continue;
    const Figures f = run(dir, c.policy, c.appenders, c.records);
    std::printf("%-9s %-9u %10llu %14.0f %9.1f %16.0f %12.2f\n", c.name, c.appenders,
                static_cast<unsigned long long>(c.records), f.append_rate,
                f.append_rate * frame / 1e6, f.read_rate, f.recovery_ms);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
