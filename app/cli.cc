#include "app/cli.h"

#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <chrono>
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
    "  check FILE           validate FILE; print the effective config, or every problem\n"
    "                       as FILE:LINE:COL\n"
    "  buffer inspect DIR   show a buffer directory: segments, backlog, corruption\n"
    "  config-reference     print the configuration reference (Markdown)\n"
    "  version              print the version\n"
    "\n"
    "Run 'tributary <command> --help' for a command's options.\n";

constexpr std::string_view kRunUsage =
    "usage: tributary run -c FILE\n"
    "\n"
    "Runs the appliance until SIGINT or SIGTERM, then drains in-flight events and exits.\n"
    "SIGHUP reloads FILE: logging, HTTP routes, auth and limits, UDP topics, keys and\n"
    "allow lists, and MQTT topic and key templates change without dropping connections;\n"
    "a file that is invalid, or that changes anything else, is refused (logged) and the\n"
    "running config stays (docs/operations.md). Under systemd (Type=notify) it\n"
    "reports readiness, reloads and stopping, and pings the watchdog while its threads run.\n"
    "  -c, --config FILE    the YAML config file (required)\n"
    "Exit status: 0 after a clean stop, 1 when the config is invalid or start failed,\n"
    "2 on a usage error.\n";

constexpr std::string_view kCheckUsage =
    "usage: tributary check FILE\n"
    "\n"
    "Validates FILE. Prints every problem as FILE:LINE:COL: KEY: MESSAGE on stderr and\n"
    "exits 1 if there is any. Otherwise prints the effective config on stdout, one\n"
    "`key.path: value` per line with defaults marked and secrets masked, and exits 0.\n";

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
  config::Diagnostics effective(args[0]);
  for (const config::EffectiveValue& v : cfg->effective) effective.record(v.path, v.value, v.is_default);
  std::cout << "# " << args[0] << ": ok (node_id=" << cfg->node_id << ", " << cfg->sources.size()
            << " source(s)); the effective config:\n"
            << effective.format_effective();
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
  // Block the stop and reload signals in every thread (threads inherit the mask), then
  // wait for them here: no async-signal-safety concerns anywhere else.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Appliance appliance(std::move(*cfg));
  const Status started = appliance.start();
  if (!started.is_ok()) {
    log::error("start failed").kv("error", started.to_string());
    return kExitFailure;
  }
  sd_notify(0, "READY=1\nSTATUS=running");
  // Under systemd's watchdog, ping at half its interval while the io threads still run.
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  const auto tick = std::chrono::microseconds(watchdog_usec / 2);
  auto next_ping = std::chrono::steady_clock::now();
  while (true) {
    int sig = 0;
    if (watchdog) {
      // Ping when due, whatever woke us (frequent signals must not starve the watchdog).
      if (std::chrono::steady_clock::now() >= next_ping) {
        if (appliance.io_alive(std::chrono::milliseconds(1000))) sd_notify(0, "WATCHDOG=1");
        next_ping = std::chrono::steady_clock::now() + tick;
      }
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(next_ping - std::chrono::steady_clock::now());
      const auto us = std::max<std::int64_t>(left.count(), 0);
      const timespec wait{static_cast<time_t>(us / 1000000), static_cast<long>((us % 1000000) * 1000)};
      sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig < 0) continue;  // the tick, or EINTR
    } else if (sigwait(&signals, &sig) != 0) {
      continue;
    }
    if (sig != SIGHUP) {
      log::info("stopping").kv("signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               static_cast<unsigned long long>(now.tv_sec) * 1000000ULL + static_cast<unsigned long long>(now.tv_nsec / 1000));
    config::LoadResult next = config::load_config_file(file);
    if (!next.config) {
      log::error("config reload refused: the file is invalid; the running config stays")
          .kv("file", file)
          .kv("problems", next.diagnostics.size())
          .kv("first", next.diagnostics.format().substr(0, next.diagnostics.format().find('\n')));
    } else if (const Status applied = appliance.reload(std::move(*next.config)); !applied.is_ok()) {
      log::error("config reload refused").kv("file", file).kv("reason", applied.message());
    }
    sd_notify(0, "READY=1\nSTATUS=running");
  }
  sd_notify(0, "STOPPING=1");
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
