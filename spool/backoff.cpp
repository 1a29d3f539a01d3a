#include "spool/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace mailqd {

std::chrono::seconds backoff_delay(const BackoffPolicy& policy, int attempt, double random01)
{
    const double initial = static_cast<double>(policy.initial.count());
    const double max = static_cast<double>(policy.max.count());
    // Computed in the log domain first so a large attempt cannot overflow.
    const int exponent = std::max(0, attempt - 1);
    double base = max;
    if (initial > 0 && std::log(std::max(policy.factor, 1.0)) * exponent < std::log(max / initial + 1) + 1)
        base = std::min(max, initial * std::pow(std::max(policy.factor, 1.0), exponent));
    const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
    const double scaled = base * (1.0 + jitter * (2.0 * random01 - 1.0));
    return std::chrono::seconds(std::max<long long>(1, std::llround(scaled)));
}

std::chrono::seconds backoff_delay(const BackoffPolicy& policy, int attempt)
{
    thread_local std::mt19937_64 generator{std::random_device{}()};
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    return backoff_delay(policy, attempt, uniform(generator));
}

}  // namespace mailqd
