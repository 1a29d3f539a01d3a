// Retry arithmetic shared by delivery and POP3 fetch:
// delay(n) = min(retry_max, retry_initial * factor^(n-1)), then +- jitter.
#pragma once

#include <chrono>

namespace mailqd {

struct BackoffPolicy {
    std::chrono::seconds initial{60};
    std::chrono::seconds max{3600};
    double factor = 2.0;
    double jitter = 0.1;  // fraction, 0.1 = +-10 %
};

// attempt is 1 for the delay after the first failed attempt. random01 is a
// uniform draw in [0, 1); 0.5 gives the delay without jitter.
std::chrono::seconds backoff_delay(const BackoffPolicy& policy, int attempt, double random01);

// Same with a draw from a thread-local generator.
std::chrono::seconds backoff_delay(const BackoffPolicy& policy, int attempt);

}  // namespace mailqd
