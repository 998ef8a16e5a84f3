#pragma once

#include <string>
#include <vector>

namespace tributary::app {

// Exit codes, following the usual conventions of command-line tools.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // runtime failure or invalid config
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

// Runs the `tributary` command line; returns the process exit code.
int run_cli(const std::vector<std::string>& args);

}  // namespace tributary::app
