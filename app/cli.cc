#include "app/cli.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <string_view>

#include "app/appliance.h"
#include "buffer/inspect.h"
#include "config/config.h"
#include "core/log.h"

namespace tributary::app {
namespace {

constexpr std::string_view kUsage =
    "usage: tributary <command> [options]\n"
    "\n"
    "commands:\n"
    "  run -c FILE          run the appliance with the config FILE\n"
    "  check FILE           validate FILE; print every problem as FILE:LINE:COL\n"
    "  buffer inspect DIR   show a buffer directory: segments, backlog, corruption\n"
    "  config-reference     print the configuration reference (Markdown)\n"
    "  version              print the version\n"
    "\n"
    "Run 'tributary <command> --help' for a command's options.\n";

constexpr std::string_view kRunUsage =
    "usage: tributary run -c FILE\n"
    "\n"
    "Runs the appliance until SIGINT or SIGTERM, then drains in-flight events and exits.\n"
    "  -c, --config FILE    the YAML config file (required)\n";

constexpr std::string_view kCheckUsage =
    "usage: tributary check FILE\n"
    "\n"
    "Validates FILE. Prints every problem as FILE:LINE:COL: KEY: MESSAGE on stderr and\n"
    "exits 1 if there is any; prints a summary and exits 0 otherwise.\n";

bool wants_help(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}

int usage_error(std::string_view message, std::string_view usage) {
  std::cerr << "tributary: " << message << "\n\n" << usage;
  return kExitUsage;
}

std::optional<config::AppConfig> load_or_report(const std::string& file) {
  config::LoadResult loaded = config::load_config_file(file);
  if (!loaded.config) {
    std::cerr << loaded.diagnostics.format() << "tributary: " << file << ": "
              << loaded.diagnostics.size() << " problem(s) found\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

int cmd_check(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << kCheckUsage;
    return kExitOk;
  }
  if (args.size() != 1) return usage_error("check takes exactly one FILE", kCheckUsage);
  const auto cfg = load_or_report(args[0]);
  if (!cfg) return kExitFailure;
  std::cout << args[0] << ": ok (node_id=" << cfg->node_id << ", " << cfg->sources.size()
            << " source(s), kafka=" << cfg->kafka.brokers << ")\n";
  for (const config::SourceConfig& s : cfg->sources) {
    std::cout << "  " << s.type << " source '" << s.name << "' on " << s.listen.text() << "\n";
  }
  return kExitOk;
}

constexpr std::string_view kBufferUsage =
    "usage: tributary buffer inspect DIR\n"
    "\n"
    "Reads and verifies every segment of the buffer directory DIR (the `buffer.dir` of a\n"
    "config) and prints its segments, the ack cursor, the backlog, the oldest unacknowledged\n"
    "and the newest event time, and any corruption found. Changes nothing. Exits 1 when the\n"
    "directory cannot be read or corruption was found.\n";

int cmd_buffer(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << kBufferUsage;
    return kExitOk;
  }
  if (args.size() != 2 || args[0] != "inspect") {
    return usage_error("expected 'buffer inspect DIR'", kBufferUsage);
  }
  buffer::PosixFileIo io;
  const buffer::InspectReport report = buffer::inspect_ring(io, args[1]);
  std::cout << buffer::format_inspect(report);
  const bool damaged = report.corrupt_records + report.torn_tails + report.unreadable_segments > 0 ||
                       report.checkpoint_corrupt;
  return report.error.empty() && !damaged ? kExitOk : kExitFailure;
}

int cmd_run(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << kRunUsage;
    return kExitOk;
  }
  std::string file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size()) {
      file = args[++i];
    } else {
      return usage_error("unexpected argument '" + args[i] + "'", kRunUsage);
    }
  }
  if (file.empty()) return usage_error("run needs -c FILE", kRunUsage);
  auto cfg = load_or_report(file);
  if (!cfg) return kExitFailure;
  log::Level level = log::Level::kInfo;
  log::parse_level(cfg->log_level, &level);
  log::set_level(level);

  // Block the stop signals in every thread (threads inherit the mask), then wait for
  // them here: no async-signal-safety concerns anywhere else.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Appliance appliance(std::move(*cfg));
  const Status started = appliance.start();
  if (!started.is_ok()) {
    log::error("start failed").kv("error", started.to_string());
    return kExitFailure;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::info("stopping").kv("signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
  appliance.stop();
  return kExitOk;
}

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  if (args.empty()) return usage_error("no command given", kUsage);
  const std::string& cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (cmd == "run") return cmd_run(rest);
  if (cmd == "check") return cmd_check(rest);
  if (cmd == "buffer") return cmd_buffer(rest);
  if (cmd == "config-reference") {
    std::cout << config::config_reference_markdown();
    return kExitOk;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "tributary " << TRIBUTARY_VERSION << "\n";
    return kExitOk;
  }
  return usage_error("unknown command '" + cmd + "'", kUsage);
}

}  // namespace tributary::app
