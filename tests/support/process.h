#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tributary::testing {

// The tributary binary under test ($TRIBUTARY_BINARY, set by ctest).
std::string tributary_binary();

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

// Starts ARGS (ARGS[0] looked up in PATH unless it has a slash) with stdout and stderr in
// files; the pid, or -1.
pid_t spawn_process(const std::vector<std::string>& args, const std::string& out_path,
                    const std::string& err_path);

// Runs ARGS to completion (killed after TIMEOUT) and captures its output.
CommandResult run_command(const std::vector<std::string>& args, std::chrono::seconds timeout);

// Test certificates made with the openssl command line in DIR: ca.pem/ca.key, other-ca.pem
// (an unrelated CA), server.pem/server.key (CN and SAN 127.0.0.1, signed by ca),
// client.pem/client.key (signed by ca) and stranger.pem/stranger.key (signed by other-ca).
// Empty on success, else what failed.
std::string make_test_certificates(const std::string& dir);

// Records at or after the ack cursor in the ring in DIR, as `tributary buffer inspect DIR`
// reports them (works while a process holds the ring); -1 when it cannot tell.
long buffer_backlog(const std::string& dir);

// A running `tributary run -c CONFIG`, with stderr (the structured log) in a file.
// Killed on destruction if still running.
class TributaryProcess {
 public:
  TributaryProcess(std::string config_path, std::string log_path);
  ~TributaryProcess();
  TributaryProcess(const TributaryProcess&) = delete;
  TributaryProcess& operator=(const TributaryProcess&) = delete;

  bool start();
  // Before start(): no file the process writes may grow beyond BYTES (RLIMIT_FSIZE, with
  // SIGXFSZ ignored), so a write past it fails with EFBIG as on a full disk, without root.
  void limit_file_size(std::uint64_t bytes) { file_size_limit_ = bytes; }
  // Port that source NAME is bound to, from its "msg=listening" log line.
  std::optional<std::uint16_t> port_of(const std::string& source,
                                       std::chrono::milliseconds deadline);
  // The value of KEY= on the first log line containing NEEDLE (e.g. the admin listener's
  // address on its "admin listening" line); nullopt when none came before DEADLINE.
  std::optional<std::string> log_value(const std::string& needle, const std::string& key,
                                       std::chrono::milliseconds deadline);
  // Sends SIG (e.g. SIGHUP); false when the process is not running.
  bool signal(int sig);
  // Sends SIGTERM and waits; the exit code, or -1 when it had to be killed.
  int stop(std::chrono::seconds grace = std::chrono::seconds(20));
  bool running();
  // SIGKILL, as a crash or power cut would end it; waits for it to be gone.
  void kill_hard();
  std::string log() const;

 private:
  std::string config_path_;
  std::string log_path_;
  std::uint64_t file_size_limit_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tributary::testing
