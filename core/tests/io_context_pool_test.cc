#include "core/io_context_pool.h"

#include <sched.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tributary {
namespace {

TEST(IoContextPool, AConfiguredCountIsTakenAsItIs) {
  EXPECT_EQ(IoContextPool::resolve(1), 1u);
  EXPECT_EQ(IoContextPool::resolve(3), 3u);
  EXPECT_EQ(IoContextPool::resolve(64), 64u);
}

// `io_threads: 0` follows the CPUs the process may run on (taskset, a cgroup cpuset), not the
// machine's: half of them, at least one. Checked on a thread pinned to 1, 2, ... of them.
TEST(IoContextPool, ZeroMeansHalfTheCpusThisThreadMayRunOnAndAtLeastOne) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  std::vector<std::size_t> cpus;
  for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  ASSERT_FALSE(cpus.empty());
  for (std::size_t take = 1; take <= cpus.size() && take <= 8; ++take) {
    std::size_t got = 0;
    int pinned = -1;
    std::thread([&] {
      cpu_set_t some;
      CPU_ZERO(&some);
      for (std::size_t i = 0; i < take; ++i) CPU_SET(cpus[i], &some);
      pinned = sched_setaffinity(0, sizeof some, &some);
      got = IoContextPool::resolve(0);
    }).join();
    ASSERT_EQ(pinned, 0) << take;
    EXPECT_EQ(got, take / 2 > 0 ? take / 2 : 1) << "pinned to " << take << " CPUs";
  }
}

}  // namespace
}  // namespace tributary
