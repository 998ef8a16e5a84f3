// Disk ring benchmark: prints figures, asserts nothing.
//
//   build/release/bench/ring_bench [DIR] [--records N] [--only POLICY/APPENDERS|crc|disk|backlog]
//
// For each fsync policy and appender count: append throughput of 256-byte events (records/s
// and MB/s of frames), then read-back throughput with CRC verification, then recovery time.
// Then the disk's sequential write bandwidth (1 GiB, O_DIRECT, 1 MiB writes) in the same
// run, and for a 100 MiB and a 2 GiB backlog: recovery time and the RssAnon of the process
// that holds the backlog (after opening it, and after reading all of it).
//
// Each interval case runs twice in a row and prints both. On a VM whose balloon device
// reports free pages to its host (virtio free page reporting; this project's CI and bench
// machine does, see /sys/module/page_reporting), memory the previous run freed is handed back
// to the host within seconds, and the first run after a pause pays a host fault for every
// page cache page it touches again: 1.0-1.5M rec/s where the second run, which reuses pages
// the host still backs, makes 4-5M. The second run is the steady state of a gateway that
// writes all day; the first is printed so that nobody mistakes it for one.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "buffer/crc32c.h"
#include "buffer/ring.h"

namespace {

using namespace tributary::buffer;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// This process's CPU time (user + system, all threads) and minor page faults so far.
struct Usage {
  double cpu_seconds = 0;
  long faults = 0;
};
Usage usage_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return {static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
              static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6,
          u.ru_minflt};
}

struct Figures {
  double append_rate = 0;
  double append_cpu_ns = 0;     // CPU per record while appending (appenders and writer)
  double append_faults = 0;     // minor page faults per 1,000 records while appending
  double read_rate = 0;
  double recovery_ms = 0;
};

// CRC-32C over one SIZE-byte buffer, ns per call (the hardware path in use).
double crc_ns(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 7);
  const std::size_t calls = std::max<std::size_t>(1, (512u << 20) / size);
  std::uint32_t sink = 0;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    data[0] = static_cast<char>(i);
    sink ^= crc32c(data.data(), data.size());
  }
  const double ns = seconds_since(start) * 1e9 / static_cast<double>(calls);
  if (sink == 0x12345678u) std::printf(" ");  // keeps the loop
  return ns;
}

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
    const Usage before = usage_now();
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < appenders; ++t) {
      threads.emplace_back([&, t] {
        // Closed loop per appender under `always` (as a client waiting for its answer);
        // open loop otherwise, backing off only when the ring is full: nobody waits for a
        // record (caller_waits false, as for UDP), so the writer thread writes in groups.
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
            while (ring->append(0, body, [&](std::error_code, std::uint64_t) { done.fetch_add(1); },
                                /*caller_waits=*/false) != Ring::Append::kQueued) {
              std::this_thread::yield();
            }
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    while (done.load() < records) std::this_thread::sleep_for(std::chrono::microseconds(200));
    f.append_rate = static_cast<double>(records) / seconds_since(start);
    const Usage after = usage_now();
    f.append_cpu_ns = (after.cpu_seconds - before.cpu_seconds) * 1e9 / static_cast<double>(records);
    f.append_faults = static_cast<double>(after.faults - before.faults) * 1000.0 / static_cast<double>(records);

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

// Sequential write bandwidth of the disk under DIR, bypassing the page cache; bytes/s.
double disk_write_bandwidth(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/dd-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  constexpr std::size_t kBlock = 1 << 20;
  constexpr int kBlocks = 1024;
  void* block = nullptr;
  if (::posix_memalign(&block, 4096, kBlock) != 0) return 0;
  std::memset(block, 'd', kBlock);
  const auto start = Clock::now();
  int written = 0;
  for (; written < kBlocks; ++written) {
    if (::write(fd, block, kBlock) != static_cast<ssize_t>(kBlock)) break;
  }
  ::fdatasync(fd);
  const double secs = seconds_since(start);
  ::close(fd);
  std::free(block);
  std::filesystem::remove(path);
  return static_cast<double>(written) * kBlock / secs;
}

// RssAnon of this process, in KiB (from /proc/self/status).
long rss_anon_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::strtol(line.c_str() + 8, nullptr, 10);
  }
  return -1;
}

// Fills a ring in DIR with BYTES of 288-byte frames in a child process (so this process
// has never held them), then opens it here: recovery time and RssAnon with the backlog.
void backlog(const std::string& dir, std::uint64_t bytes, const char* label) {
  std::filesystem::remove_all(dir);
  RingOptions o;
  o.dir = dir;
  o.fsync = FsyncPolicy::kInterval;
  o.max_bytes = bytes + (256ull << 20);
  o.segment_bytes = 64ull << 20;
  const std::uint64_t records = bytes / (256 + kRecordHeaderSize);
  const pid_t child = ::fork();
  if (child == 0) {
    PosixFileIo io;
    std::string error;
    auto ring = Ring::open(io, o, nullptr, &error);
    if (!ring) _exit(1);
    const std::string body(256, 'b');
    for (std::uint64_t i = 0; i < records;) {
      if (ring->append(0, body, {}) == Ring::Append::kQueued) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
    // Crash (no clean close) once everything is written and the last interval sync and
    // checkpoint have happened.
    while (ring->written_seq() < records) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    std::printf("%-8s fill failed\n", label);
    return;
  }
  ::sync();
  // Cold start, as after a reboot: drop the page cache when allowed (root).
  std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
  std::fflush(stdout);
  // Measured in a fresh process (this program again, --hold), so memory this one used
  // earlier does not count.
  const pid_t holder = ::fork();
  if (holder == 0) {
    const std::string max = std::to_string(o.max_bytes);
    ::execl("/proc/self/exe", "ring_bench", "--hold", dir.c_str(), max.c_str(), label, nullptr);
    _exit(127);
  }
  ::waitpid(holder, &status, 0);
  std::filesystem::remove_all(dir);
}

// The --hold half of backlog(): opens the ring in DIR, prints recovery time and RssAnon.
int hold(const std::string& dir, std::uint64_t max_bytes, const char* label) {
  RingOptions o;
  o.dir = dir;
  o.fsync = FsyncPolicy::kInterval;
  o.max_bytes = max_bytes;
  o.segment_bytes = 64ull << 20;
  PosixFileIo io;
  std::string error;
  const long rss_before = rss_anon_kib();
  RecoveryReport report;
  auto ring = Ring::open(io, o, &report, &error);
  if (!ring) {
    std::printf("%-8s open failed: %s\n", label, error.c_str());
    return 1;
  }
  const long rss_open = rss_anon_kib();
  std::uint64_t next = ring->cursor();
  std::uint64_t seen = 0;
  long rss_peak = rss_open;
  const auto read_start = Clock::now();
  while (next < ring->written_seq()) {
    next = ring->read(next, 10000, [&](const RecordView&) { ++seen; });
    if (seen % 1'000'000 < 10000) rss_peak = std::max(rss_peak, rss_anon_kib());
  }
  const double read_secs = seconds_since(read_start);
  rss_peak = std::max(rss_peak, rss_anon_kib());
  std::printf("%-8s %12llu %10llu %12.2f %12llu %14ld %14ld %14ld %12.0f\n", label,
              static_cast<unsigned long long>(ring->stats().disk_bytes),
              static_cast<unsigned long long>(seen), static_cast<double>(report.duration.count()) / 1000.0,
              static_cast<unsigned long long>(report.scanned_bytes),
              rss_before, rss_open, rss_peak, static_cast<double>(seen) / read_secs);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--hold") return hold(argv[2], std::stoull(argv[3]), argv[4]);
  std::string dir = "/tmp/tributary-ring-bench";
  std::uint64_t records = 2'000'000;
  std::string only;  // e.g. "interval/1": run just that case (for a profiler)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--records" && i + 1 < argc) {
      records = std::stoull(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a.starts_with('-')) {
      std::fprintf(stderr, "ring_bench: unknown option or missing value: %s\n"
                   "usage: ring_bench [DIR] [--records N] [--only CASE]\n", a.c_str());
      return 2;
    } else {
      dir = a;
    }
  }
  const double frame = 256 + kRecordHeaderSize;
  std::printf("ring_bench: 256-byte events (%.0f-byte frames), 64 MiB segments, dir %s\n", frame,
              dir.c_str());
  std::printf("%-9s %-9s %10s %14s %9s %10s %10s %16s %12s\n", "fsync", "appenders", "records",
              "append rec/s", "MB/s", "cpu ns/rec", "faults/1k", "read rec/s", "recovery ms");
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
  double best_interval = 0;
  for (const Case& c : cases) {
    if (!only.empty() && only != std::string(c.name) + "/" + std::to_string(c.appenders)) continue;
    const int runs = c.policy == FsyncPolicy::kInterval ? 2 : 1;
    for (int r = 0; r < runs; ++r) {
      const Figures f = run(dir, c.policy, c.appenders, c.records);
      std::printf("%-9s %-9u %10llu %14.0f %9.1f %10.0f %10.1f %16.0f %12.2f%s\n", c.name, c.appenders,
                  static_cast<unsigned long long>(c.records), f.append_rate,
                  f.append_rate * frame / 1e6, f.append_cpu_ns, f.append_faults, f.read_rate, f.recovery_ms,
                  runs == 1 ? "" : r == 0 ? "  (first run)" : "  (again at once)");
      if (c.policy == FsyncPolicy::kInterval) best_interval = std::max(best_interval, f.append_rate);
    }
  }
  if (only.empty() || only == "crc") {
    std::printf("\ncrc32c (%s): 284 bytes (a 256-byte event's frame) %.1f ns; 64 KiB %.2f GB/s\n",
                crc32c_hardware() ? "hardware" : "portable", crc_ns(284), 65536.0 / crc_ns(65536));
  }
  if (only.empty() || only == "disk") {
    const double disk = disk_write_bandwidth(dir);
    std::printf("\ndisk sequential write (O_DIRECT, 1 MiB blocks, 1 GiB): %.0f MB/s", disk / 1e6);
    if (best_interval > 0 && disk > 0) {
      std::printf("; best interval append: %.0f MB/s = %.0f%% of it", best_interval * frame / 1e6,
                  100.0 * best_interval * frame / disk);
    }
    std::printf("\n");
  }
  if (only.empty() || only == "backlog") {
    std::printf("\nbacklog  %12s %10s %12s %12s %14s %14s %14s %12s\n", "disk bytes", "records",
                "recovery ms", "scanned", "RssAnon KiB:", "after open", "reading all", "read rec/s");
    // The filling process is killed (SIGKILL) after its last sync. Recovery reads only what
    // follows the newest segment's last sync; the last case fills that segment to the brim.
    backlog(dir, 100ull << 20, "100MiB");
    backlog(dir, 2ull << 30, "2GiB");
    backlog(dir, (2ull << 30) - (1ull << 20), "2GiB-1M");
    std::printf("(page cache dropped before each open when run as root)\n");
  }
  std::filesystem::remove_all(dir);
  return 0;
}
