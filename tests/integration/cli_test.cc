// The command line as a user meets it: exit codes, and config errors with file:line:col.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/net_client.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace tributary::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const std::string kValid = R"(buffer:
  dir: )" + work_dir("cli-buffer") + R"(
kafka:
  brokers: 127.0.0.1:9
sources:
  - name: api
    type: http
    listen: 127.0.0.1:0
    routes:
      - name: r
        topic: t
)";

std::string file_with(const std::string& text) {
  const std::string path = work_dir("cli") + "/tributary.yaml";
  write_file(path, text);
  return path;
}

TEST(Cli, CheckAcceptsAValidFile) {
  const std::string path = file_with(kValid);
  const CommandResult r = run_command({tributary_binary(), "check", path}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(path + ": ok"));
  // The effective config: what the file says, and every default, marked.
  EXPECT_THAT(r.out, HasSubstr("\nsources[0].name: api\n"));
  EXPECT_THAT(r.out, HasSubstr("\nsources[0].routes[0].topic: t\n"));
  EXPECT_THAT(r.out, HasSubstr("\nkafka.compression: lz4  # default\n"));
  EXPECT_THAT(r.out, HasSubstr("\nbuffer.fsync: interval  # default\n"));
  EXPECT_THAT(r.out, HasSubstr("\nkafka.security.protocol: plaintext  # default\n"));
}

TEST(Cli, CheckReportsEveryProblemWithFileLineAndColumn) {
  const std::string path = file_with(R"(kafka:
  brokers: 127.0.0.1:9
  lingr: 5ms
sources:
  - name: api
    type: http
    listen: 127.0.0.1:0
    max_body: 12 furlongs
    routes:
      - name: r
        topic: t
)");
  const CommandResult r = run_command({tributary_binary(), "check", path}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(path + ":3:3: kafka.lingr: unknown key"));
  EXPECT_THAT(r.err, HasSubstr(path + ":8:15: sources[0].max_body: unknown size unit 'furlongs'"));
  EXPECT_THAT(r.err, HasSubstr("2 problem(s) found"));
}

TEST(Cli, RunRefusesAMalformedConfigAndExitsNonZero) {
  const std::string path = file_with("kafka:\n  brokers: [\n");
  const CommandResult r = run_command({tributary_binary(), "run", "-c", path}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::MatchesRegex(".*" + path + ":[0-9]+:[0-9]+: YAML syntax error.*"));
}

TEST(Cli, RunFailsClearlyWhenTheListenPortIsTaken) {
  // Hold a TCP port, then ask tributary to listen on it.
  const std::uint16_t port = closed_tcp_port();
  std::string config = kValid;
  config.replace(config.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(port));
  const std::string first = file_with(config);
  TributaryProcess holder(first, work_dir("cli-holder") + "/log");
  ASSERT_TRUE(holder.start());
  ASSERT_TRUE(holder.port_of("api", 10s)) << holder.log();
  // Same port, its own buffer directory.
  const std::string second = file_with(std::string(config).replace(
      config.find("cli-buffer"), 10, "cli-buffer-second"));
  const CommandResult r = run_command({tributary_binary(), "run", "-c", second}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot listen on HTTP 127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(holder.stop(), 0);
}

TEST(Cli, ASecondProcessOnTheSameBufferIsRefused) {
  const std::string config = file_with(kValid);
  TributaryProcess holder(config, work_dir("cli-holder") + "/log");
  ASSERT_TRUE(holder.start());
  ASSERT_TRUE(holder.port_of("api", 10s)) << holder.log();
  const CommandResult r = run_command({tributary_binary(), "run", "-c", config}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is in use by another process"));
  EXPECT_EQ(holder.stop(), 0);
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_command({tributary_binary()}, 10s).exit_code, 2);
  EXPECT_EQ(run_command({tributary_binary(), "frobnicate"}, 10s).exit_code, 2);
  const CommandResult r = run_command({tributary_binary(), "run"}, 10s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("run needs -c FILE"));
}

TEST(Cli, HelpAndVersion) {
  const CommandResult help = run_command({tributary_binary(), "--help"}, 10s);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("usage: tributary"));
  const CommandResult version = run_command({tributary_binary(), "version"}, 10s);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, ::testing::StartsWith("tributary "));
}

}  // namespace
}  // namespace tributary::testing

namespace tributary::testing {
namespace {

TEST(Cli, BufferInspectShowsBacklogAndCorruption) {
  const std::string golden = std::string(TRIBUTARY_SOURCE_DIR) + "/tests/golden/buffer";
  // A copy of one good and one damaged golden segment, as a buffer directory.
  const std::string dir = work_dir("inspect");
  std::filesystem::copy_file(golden + "/good.seg", dir + "/00000000000000001000.seg");
  CommandResult r = run_command({tributary_binary(), "buffer", "inspect", dir}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("backlog: 10 records, 1 segments"));
  EXPECT_THAT(r.out, HasSubstr("oldest unacknowledged event: 2025-11-22T00:00:00.000Z"));
  EXPECT_THAT(r.out, HasSubstr("0 records lost to corruption"));

  // A segment whose name and header disagree is reported, not trusted.
  std::filesystem::copy_file(golden + "/good.seg", dir + "/00000000000000001010.seg");
  r = run_command({tributary_binary(), "buffer", "inspect", dir}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("1 unreadable segments"));

  const std::string damaged = work_dir("inspect-damaged");
  std::filesystem::copy_file(golden + "/bad-crc-middle.seg", damaged + "/00000000000000001000.seg");
  r = run_command({tributary_binary(), "buffer", "inspect", damaged}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("1 records lost to corruption"));
  EXPECT_THAT(r.out, HasSubstr("backlog: 10 records"));

  EXPECT_EQ(run_command({tributary_binary(), "buffer", "inspect", "/nonexistent"}, 30s).exit_code, 1);
  EXPECT_EQ(run_command({tributary_binary(), "buffer", "frob"}, 30s).exit_code, 2);
}

}  // namespace
}  // namespace tributary::testing
