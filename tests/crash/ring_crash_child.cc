// The crash test's child: opens the ring in DIR (fsync: always, small segments so rolls
// happen), appends records whose body names their sequence number, and prints "ok SEQ" for
// every append whose completion fired (that is, that the ring accepted as durable). Runs
// until killed. The parent kills it with SIGKILL at random moments.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "buffer/ring.h"

int main(int argc, char** argv) {
  using namespace tributary::buffer;
  if (argc != 2) return 2;
  PosixFileIo io;
  RingOptions o;
  o.dir = argv[1];
  o.fsync = FsyncPolicy::kAlways;
  o.segment_bytes = 64 * 1024;
  o.max_bytes = 1ull << 30;
  RecoveryReport report;
  std::string error;
  auto ring = Ring::open(io, o, &report, &error);
  if (!ring) {
    std::fprintf(stderr, "open: %s\n", error.c_str());
    return 1;
  }
  std::printf("start %llu\n", static_cast<unsigned long long>(report.next_seq));
  std::fflush(stdout);
  // One appender, so record N is the Nth append: its body can name its sequence number.
  for (std::uint64_t seq = report.next_seq;; ++seq) {
    const std::string body = "rec-" + std::to_string(seq) + std::string(seq % 300, '.');
    while (ring->append(0, body, [](std::error_code ec, std::uint64_t s) {
             if (ec) return;
             // One write(2) per line: what reached the file survives the SIGKILL.
             char line[40];
             const int n = std::snprintf(line, sizeof line, "ok %llu\n", static_cast<unsigned long long>(s));
             if (::write(STDOUT_FILENO, line, static_cast<std::size_t>(n)) < 0) std::_Exit(3);
           }) != Ring::Append::kQueued) {
      std::this_thread::yield();
    }
    if (seq % 64 == 0) std::this_thread::yield();
  }
}
