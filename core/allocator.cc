#include "core/allocator.h"

#include <malloc.h>

namespace tributary {

void tune_allocator() {
#if defined(__GLIBC__)
  mallopt(M_MXFAST, 0);
#endif
}

}  // namespace tributary
