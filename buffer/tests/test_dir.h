#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace tributary::buffer::testing {

// A fresh empty directory per test, removed afterwards.
class TestDir {
 public:
  TestDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("tributary-buffer-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TestDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace tributary::buffer::testing
