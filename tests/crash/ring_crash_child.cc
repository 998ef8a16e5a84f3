// The crash and power-loss tests' child:
//   ring_crash_child DIR [always|never [SEGMENT_BYTES]]
// Opens the ring in DIR (fsync: always by default; 64 KiB segments by default, so rolls
// happen), appends records whose body names their sequence number, in groups of five
// (append_many, as the events of one request: sequence numbers 5k .. 5k+4), and prints
// "ok SEQ" with the group's last sequence number for every group whose completion fired
// (that is, that the ring accepted under the policy). Runs until killed.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "buffer/ring.h"

int main(int argc, char** argv) {
  using namespace tributary::buffer;
  if (argc < 2 || argc > 4) return 2;
  PosixFileIo io;
  RingOptions o;
  o.dir = argv[1];
  o.fsync = argc >= 3 && std::string(argv[2]) == "never" ? FsyncPolicy::kNever : FsyncPolicy::kAlways;
  // A segment roll syncs the closed segment whatever the policy, so the power-loss test's
  // negative control uses segments too large to roll.
  o.segment_bytes = argc >= 4 ? std::stoull(argv[3]) : 64 * 1024;
  o.max_bytes = std::max<std::uint64_t>(1ull << 30, 2 * o.segment_bytes);
  RecoveryReport report;
  std::string error;
  auto ring = Ring::open(io, o, &report, &error);
  if (!ring) {
    std::fprintf(stderr, "open: %s\n", error.c_str());
    return 1;
  }
  std::printf("start %llu\n", static_cast<unsigned long long>(report.next_seq));
  std::fflush(stdout);
  // One appender, so record N is the Nth record appended: its body can name its sequence
  // number. A run that starts inside a group (recovery kept part of one: a bug the tests
  // look for) finishes it up to the next multiple of five.
  std::vector<std::string> bodies;
  std::vector<std::string_view> views;
  for (std::uint64_t seq = report.next_seq;;) {
    const std::uint64_t size = 5 - seq % 5;
    bodies.clear();
    for (std::uint64_t s = seq; s < seq + size; ++s) {
      bodies.push_back("rec-" + std::to_string(s) + std::string(s % 300, '.'));
    }
    views.assign(bodies.begin(), bodies.end());
    const std::uint64_t last = seq + size - 1;
    while (ring->append_many(0, views, [last](std::error_code ec, std::uint64_t) {
             if (ec) return;
             // One write(2) per line: what reached the file survives the SIGKILL.
             char line[40];
             const int n = std::snprintf(line, sizeof line, "ok %llu\n", static_cast<unsigned long long>(last));
             if (::write(STDOUT_FILENO, line, static_cast<std::size_t>(n)) < 0) std::_Exit(3);
           }) != Ring::Append::kQueued) {
      std::this_thread::yield();
    }
    seq += size;
    if (seq % 320 == 0) std::this_thread::yield();
  }
}
