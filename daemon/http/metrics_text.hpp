// The Prometheus text exposition format, version 0.0.4: HELP and TYPE lines,
// samples with escaped label values, histograms as cumulative _bucket series
// with le="+Inf", _sum and _count. Asio-free; knows nothing of the queue.
// Trusts its callers for metric and label names (constants of the daemon);
// label values are escaped, whatever they hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailqd {

inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string_view, std::string>>;

// Observations sorted into buckets by upper bound (ascending), plus their
// sum and count. One thread (the io thread) observes and renders.
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    const std::vector<double>& bounds() const { return bounds_; }
    // Per bucket, not cumulative; one more than bounds() (the +Inf bucket).
    const std::vector<std::uint64_t>& counts() const { return counts_; }
    double sum() const { return sum_; }
    std::uint64_t count() const { return count_; }

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

// Backslash, double quote and line feed escaped, as the format asks.
std::string escape_label_value(std::string_view value);
// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view text);
// Integers without a fraction, +Inf/-Inf/NaN as the format spells them,
// others with enough digits to read back the same double.
std::string format_metric_value(double value);

class MetricsText {
public:
    // type: counter, gauge or histogram. Once per metric, before its samples.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const MetricLabels& labels, double value);
    void histogram(std::string_view name, const MetricLabels& labels, const Histogram& h);
    const std::string& text() const { return out_; }

private:
    void series(std::string_view name, const MetricLabels& labels, std::string_view le, double value);
    std::string out_;
};

}  // namespace mailqd
