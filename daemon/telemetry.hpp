// What the daemon counts in memory for /metrics, since it started: the
// figures the queue does not keep (accepted per door, bounces per relay,
// how long submissions and deliveries took). Everything else the metrics
// page shows is read from the store's counters or asked of the parts.
// io thread only: no locking.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "daemon/http/metrics_text.hpp"

namespace mailqd {

struct Telemetry {
    std::map<std::string, std::uint64_t> accepted_by_door;  // socket, tcp, spool, bounce
    std::map<std::string, std::uint64_t> bounced_by_relay;  // failed recipients reported in a DSN
    // Intake::accept to durable, every door but bounces: 0.5 ms to 1 s.
    Histogram submission_seconds{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}};
    // Received to sent, per recipient: 1 s to 5 days.
    Histogram delivery_delay_seconds{
        {1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 172800, 432000}};
};

}  // namespace mailqd
