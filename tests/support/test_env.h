#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace tributary::testing {

// Value of KEY in $TRIBUTARY_TEST_ENV/FILE (KEY=VALUE lines written by scripts/services.sh).
// Empty when the file or key is absent.
std::string service_value(const std::string& file, const std::string& key);

// "127.0.0.1:PORT" of the Kafka the ctest fixture started; fails the test if none runs.
std::string kafka_bootstrap();

// A name no other test in this run uses: PREFIX-<pid>-<counter>-<random>.
std::string unique_name(std::string_view prefix);

// A fresh directory for one test's files, under the build tree.
std::string work_dir(std::string_view test_name);

void write_file(const std::string& path, std::string_view text);
std::string read_file(const std::string& path);

// Polls PREDICATE until it holds or DEADLINE passes; true when it held.
bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds deadline);

}  // namespace tributary::testing
