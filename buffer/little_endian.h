#pragma once

#include <cstring>

namespace tributary::buffer {

// Fixed-width fields of the on-disk formats. The formats are little-endian and so is every
// target we build for (record.cc asserts it), so these are plain copies.
template <class T>
void put_le(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

template <class T>
T get_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace tributary::buffer
