// Writes the golden segment files in this folder. Run only when the format changes on
// purpose (and bump the format version then):
//   build/dev/tests/make_golden_segments tests/golden/buffer
// The files are committed; buffer/tests/golden_test.cc reads them.

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "buffer/crc32c.h"
#include "buffer/record.h"
#include "buffer/segment.h"

namespace {

using namespace tributary::buffer;

std::string segment(std::uint64_t first, std::uint64_t count) {
  std::string data = encode_segment_header(first, 1'763'769'600'000);
  for (std::uint64_t i = 0; i < count; ++i) {
    encode_record(first + i, 1'763'769'600'000 + static_cast<std::int64_t>(i), RecordType::kEvent,
                  "golden event " + std::to_string(first + i), data);
  }
  return data;
}

void write(const std::filesystem::path& dir, const std::string& name, const std::string& data) {
  std::ofstream(dir / name, std::ios::binary) << data;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_golden_segments DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const std::size_t frame = kRecordHeaderSize + std::string("golden event 1000").size();

  write(dir, "good.seg", segment(1000, 10));

  std::string torn = segment(1000, 10);
  torn.resize(torn.size() - 5);  // the last record's write was cut short
  write(dir, "torn-tail.seg", torn);

  std::string bad_crc = segment(1000, 10);
  bad_crc[kSegmentHeaderSize + 4 * frame + kRecordHeaderSize + 3] ^= 0x20;  // record 1004's body
  write(dir, "bad-crc-middle.seg", bad_crc);

  std::string zero_tail = segment(1000, 10);
  zero_tail.append(4096, '\0');  // preallocated, never written
  write(dir, "zero-tail.seg", zero_tail);

  std::string future = segment(1000, 10);
  future[8] = 9;  // format version 9, properly signed
  const std::uint32_t crc = crc32c(future.data(), 60);
  std::memcpy(future.data() + 60, &crc, sizeof crc);
  write(dir, "unknown-version.seg", future);
  return 0;
}
