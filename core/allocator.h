#pragma once

namespace tributary {

// Process-wide glibc malloc settings for the appliance, called once at start by the binary
// (and by the forwarder benchmark, so it measures what the appliance runs).
//
// Fastbins off (M_MXFAST 0): librdkafka allocates every record's headers on the forwarder
// thread and frees them on the delivery-report thread; with fastbins, those frees pile up
// as fast chunks that the forwarder's next larger allocation then consolidates, which was
// half of the forwarder thread. Without them, the forwarder drains 25–45% faster
// (bench/forwarder.sh); small allocations still go through the per-thread cache.
void tune_allocator();

}  // namespace tributary
