#pragma once

namespace tributary {

// Process-wide glibc malloc settings for the appliance, called once at start by the binary
// (and by the forwarder benchmark, so it measures what the appliance runs).
//
// Fastbins off (M_MXFAST 0): librdkafka allocates every record's headers on the forwarder
// thread and frees them on the thread that serves the delivery report. When that was the
// sink's poll thread, those frees piled up as fast chunks that the forwarder's next larger
// allocation then consolidated, which was half of the forwarder thread; without fastbins
// the forwarder drained 25–45% faster (bench/forwarder.sh). The forwarder now serves its
// reports itself, and with or without fastbins it then measured the same (3.4–3.5 against
// 3.5–4.1 µs of CPU per event, interleaved); kept, as it costs nothing measurable and the
// poll thread still serves reports at start-up and shut-down. Small allocations still go
// through the per-thread cache.
void tune_allocator();

}  // namespace tributary
