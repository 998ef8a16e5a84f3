// Power-loss test for the disk ring: the ring lives on a small loop-mounted ext4 or xfs
// image; a child appends under load; the filesystem is shut down without flushing
// (`xfs_io -x -c shutdown`, as a power cut would leave it), the child is killed, the image
// is remounted, and every record the child was told was accepted must be there, in order,
// undamaged.
//
// The negative control runs the same with fsync: never and must show loss: otherwise the
// test could not tell a ring that syncs from one that does not, and it fails.
//
// Needs root, loop devices, mkfs.ext4, mkfs.xfs and xfs_io; without them it is SKIPPED.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "buffer/ring.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using namespace std::chrono_literals;

bool ok(const std::vector<std::string>& args) {
  const CommandResult r = run_command(args, 60s);
  if (r.exit_code != 0) ADD_FAILURE() << args[0] << " failed: " << r.out << r.err;
  return r.exit_code == 0;
}

std::string missing_prerequisite() {
  if (::geteuid() != 0) return "not root";
  if (!std::filesystem::exists("/dev/loop-control")) return "no loop devices";
  for (const char* tool : {"/usr/sbin/losetup", "/usr/sbin/mkfs.ext4", "/usr/sbin/mkfs.xfs", "/usr/sbin/xfs_io"}) {
    if (!std::filesystem::exists(tool)) return std::string("no ") + tool;
  }
  if (run_command({"/usr/sbin/losetup", "-f"}, 10s).exit_code != 0) return "no free loop device";
  return "";
}

std::int64_t last_accepted(const std::string& out) {
  std::istringstream in(read_file(out));
  std::string line;
  std::int64_t last = -1;
  while (std::getline(in, line)) {
    std::int64_t v = 0;
    if (line.rfind("ok ", 0) == 0 &&
        std::from_chars(line.data() + 3, line.data() + line.size(), v).ec == std::errc()) {
      last = std::max(last, v);
    }
  }
  return last;
}

struct Outcome {
  std::int64_t promised = -1;  // highest sequence number reported accepted
  std::uint64_t present = 0;   // records readable after the remount
  bool damaged = false;        // a record out of order or with a wrong body
};

// One power cut: fresh filesystem, child appending, shutdown without flush, remount, read.
Outcome power_cut(const std::string& fs, const std::string& policy, std::mt19937& rng) {
  Outcome result;
  const std::string work = work_dir("power-loss-" + fs + "-" + policy);
  const std::string image = work + "/disk.img";
  const std::string mnt = work + "/mnt";
  std::filesystem::create_directories(mnt);
  {
    std::ofstream(image).close();
    std::filesystem::resize_file(image, 1ull << 30);
  }
  const CommandResult attach = run_command({"/usr/sbin/losetup", "-f", "--show", image}, 30s);
  std::string dev = attach.out;
  while (!dev.empty() && (dev.back() == '\n' || dev.back() == ' ')) dev.pop_back();
  if (attach.exit_code != 0 || dev.empty()) {
    ADD_FAILURE() << "losetup: " << attach.err;
    return result;
  }
  const std::string mkfs = fs == "xfs" ? "/usr/sbin/mkfs.xfs" : "/usr/sbin/mkfs.ext4";
  const bool ready = ok({mkfs, "-q", dev}) && ok({"/usr/bin/mount", dev, mnt});
  const std::string out = work + "/child.out";
  if (ready) {
    // The control writes into one large segment: a segment roll would sync it.
    const std::string segment = policy == "never" ? std::to_string(400ull << 20) : std::to_string(64 * 1024);
    const pid_t child =
        spawn_process({TRIBUTARY_RING_CRASH_CHILD, mnt + "/buffer", policy, segment}, out, out + ".err");
    eventually([&] { return read_file(out).find("start ") != std::string::npos; }, 10s);
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 400));
    // The power cut: the filesystem stops, nothing more reaches the disk.
    ok({"/usr/sbin/xfs_io", "-x", "-c", "shutdown", mnt});
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    result.promised = last_accepted(out);
    ok({"/usr/bin/umount", mnt});
    // Power back: mount again (the journal is replayed) and read the ring.
    if (ok({"/usr/bin/mount", dev, mnt})) {
      buffer::PosixFileIo io;
      buffer::RingOptions o;
      o.dir = mnt + "/buffer";
      o.segment_bytes = policy == "never" ? 400ull << 20 : 64 * 1024;
      o.max_bytes = 1ull << 30;
      std::string error;
      auto ring = buffer::Ring::open(io, o, nullptr, &error);
      if (ring) {
        std::uint64_t next = 0;
        while (next < ring->written_seq()) {
          const std::uint64_t before = next;
          next = ring->read(next, 5000, [&](const buffer::RecordView& r) {
            const std::string want = "rec-" + std::to_string(r.sequence) + std::string(r.sequence % 300, '.');
            if (r.sequence != result.present || r.body != want) result.damaged = true;
            ++result.present;
          });
          if (next == before) break;
        }
        ring.reset();
      } else if (policy == "always") {
        ADD_FAILURE() << "the ring did not open after the power cut: " << error;
      }
      ok({"/usr/bin/umount", mnt});
    }
  }
  run_command({"/usr/sbin/losetup", "-d", dev}, 30s);
  std::filesystem::remove(image);
  return result;
}

class RingPowerLoss : public ::testing::TestWithParam<std::string> {};

TEST_P(RingPowerLoss, FsyncAlwaysKeepsEveryAcceptedRecordAndTheControlLoses) {
  const std::string why = missing_prerequisite();
  if (!why.empty()) GTEST_SKIP() << "SKIPPED: power-loss test needs " << why;
  std::mt19937 rng(std::random_device{}());
  std::int64_t verified = 0;
  for (int round = 0; round < 3; ++round) {
    const Outcome o = power_cut(GetParam(), "always", rng);
    ASSERT_GE(o.promised, 0) << "round " << round << ": nothing was accepted: the cut proved nothing";
    EXPECT_GE(static_cast<std::int64_t>(o.present), o.promised + 1)
        << "round " << round << ": records accepted under fsync: always were lost";
    EXPECT_FALSE(o.damaged) << "round " << round;
    verified += o.promised + 1;
  }
  // Negative control: without fsync, a power cut must lose accepted records.
  std::int64_t lost_without_fsync = 0;
  for (int round = 0; round < 3 && lost_without_fsync == 0; ++round) {
    const Outcome o = power_cut(GetParam(), "never", rng);
    EXPECT_FALSE(o.damaged) << "control round " << round << ": the ring returned a damaged record";
    lost_without_fsync = std::max<std::int64_t>(0, o.promised + 1 - static_cast<std::int64_t>(o.present));
  }
  std::printf("power loss on %s: %lld accepted records verified over 3 cuts; control lost %lld\n",
              GetParam().c_str(), static_cast<long long>(verified),
              static_cast<long long>(lost_without_fsync));
  // A control that loses nothing means the cut proves nothing about the ring's fsync.
  EXPECT_GT(lost_without_fsync, 0)
      << "the negative control (fsync: never) lost nothing in 3 cuts: the test cannot tell a "
         "ring that syncs from one that does not";
}

INSTANTIATE_TEST_SUITE_P(Filesystems, RingPowerLoss, ::testing::Values("ext4", "xfs"));

}  // namespace
}  // namespace tributary::testing
