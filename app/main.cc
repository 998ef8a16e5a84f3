#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "core/allocator.h"

int main(int argc, char** argv) {
  tributary::tune_allocator();
  try {
    return tributary::app::run_cli(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    // Start-up may throw; the data path does not.
    std::cerr << "tributary: fatal: " << e.what() << "\n";
    return tributary::app::kExitFailure;
  }
}
