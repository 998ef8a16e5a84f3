#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "tests/support/test_env.h"

extern char** environ;

namespace tributary::testing {
namespace {

pid_t spawn(const std::vector<std::string>& args, const std::string& out_path,
            const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);  // PATH lookup
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for PID up to TIMEOUT; its exit code, -1 when killed by a signal, nullopt on timeout.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

pid_t spawn_process(const std::vector<std::string>& args, const std::string& out_path,
                    const std::string& err_path) {
  return spawn(args, out_path, err_path);
}

std::string tributary_binary() {
  const char* path = std::getenv("TRIBUTARY_BINARY");
  return path != nullptr ? path : TRIBUTARY_TEST_BINARY;
}

CommandResult run_command(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  const std::string dir = work_dir("cmd");
  CommandResult result;
  const pid_t pid = spawn(args, dir + "/out", dir + "/err");
  if (pid < 0) return result;
  auto code = wait_exit(pid, timeout);
  if (!code) {
    kill(pid, SIGKILL);
    wait_exit(pid, std::chrono::seconds(5));
  }
  result.exit_code = code.value_or(-1);
  result.out = read_file(dir + "/out");
  result.err = read_file(dir + "/err");
  return result;
}

TributaryProcess::TributaryProcess(std::string config_path, std::string log_path)
    : config_path_(std::move(config_path)), log_path_(std::move(log_path)) {}

TributaryProcess::~TributaryProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(5));
  }
}

bool TributaryProcess::start() {
  if (file_size_limit_ > 0) {
    // The shell execs the binary (same pid); an ignored signal stays ignored across exec.
    // bash's ulimit -f counts KiB (dash's counts 512-byte blocks).
    const std::string kib = std::to_string((file_size_limit_ + 1023) / 1024);
    pid_ = spawn({"/bin/bash", "-c", "trap '' XFSZ; ulimit -f " + kib + " && exec \"$0\" run -c \"$1\"",
                  tributary_binary(), config_path_},
                 log_path_ + ".out", log_path_);
  } else {
    pid_ = spawn({tributary_binary(), "run", "-c", config_path_}, log_path_ + ".out", log_path_);
  }
  return pid_ > 0;
}

bool TributaryProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::optional<std::uint16_t> TributaryProcess::port_of(const std::string& source,
                                                      std::chrono::milliseconds deadline) {
  const auto address = log_value("msg=listening source=" + source + " ", "address", deadline);
  if (!address || address->rfind(':') == std::string::npos) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(address->substr(address->rfind(':') + 1)));
}

std::optional<std::string> TributaryProcess::log_value(const std::string& needle, const std::string& key,
                                                      std::chrono::milliseconds deadline) {
  std::optional<std::string> value;
  eventually(
      [&] {
        const std::string text = log();
        const auto line = text.find(needle);
        if (line == std::string::npos) return !running();
        const auto eol = text.find('\n', line);
        if (eol == std::string::npos) return false;
        const std::string l = text.substr(line, eol - line);
        const auto at = l.find(" " + key + "=");
        if (at == std::string::npos) return true;
        const auto start = at + key.size() + 2;
        value = l.substr(start, l.find(' ', start) - start);
        return true;
      },
      deadline);
  return value;
}

bool TributaryProcess::signal(int sig) { return pid_ > 0 && kill(pid_, sig) == 0; }

int TributaryProcess::stop(std::chrono::seconds grace) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto code = wait_exit(pid_, grace);
  if (!code) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
  return code.value_or(-1);
}

void TributaryProcess::kill_hard() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  wait_exit(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

std::string TributaryProcess::log() const { return read_file(log_path_); }

long buffer_backlog(const std::string& dir) {
  const CommandResult r = run_command({tributary_binary(), "buffer", "inspect", dir}, std::chrono::seconds(30));
  const auto at = r.out.find("backlog: ");
  return at == std::string::npos ? -1 : std::stol(r.out.substr(at + 9));
}

std::string make_test_certificates(const std::string& dir) {
  const std::string script =
      "set -e; mkdir -p '" + dir + "'; cd '" + dir + "'\n"
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem\n"
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other-ca.key -out other-ca.pem\n"
      "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext\n"
      "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr\n"
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem\n"
      "openssl req -newkey rsa:2048 -nodes -subj /CN=test-client -keyout client.key -out client.csr\n"
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem\n"
      "openssl req -newkey rsa:2048 -nodes -subj /CN=stranger -keyout stranger.key -out stranger.csr\n"
      "openssl x509 -req -in stranger.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 2 -out stranger.pem\n";
  const CommandResult made = run_command({"bash", "-c", script}, std::chrono::seconds(60));
  return made.exit_code == 0 ? std::string() : "openssl failed: " + made.err;
}

}  // namespace tributary::testing
