// See metrics_text.hpp.
#include "daemon/http/metrics_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace mailqd {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0)
{
    std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double value)
{
    const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // le: value <= bound
    ++counts_[static_cast<std::size_t>(at - bounds_.begin())];
    sum_ += value;
    ++count_;
}

std::string escape_label_value(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escape_help(std::string_view text)
{
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_metric_value(double value)
{
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[32];
    if (value == std::floor(value) && std::fabs(value) < 1e15)
        std::snprintf(buffer, sizeof buffer, "%.0f", value);
    else
        for (int digits = 1; digits <= 17; ++digits) {  // the shortest text that reads back the same
            std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
            if (std::strtod(buffer, nullptr) == value) break;
        }
    return buffer;
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help)
{
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape_help(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void MetricsText::series(std::string_view name, const MetricLabels& labels, std::string_view le, double value)
{
    out_ += name;
    if (!labels.empty() || !le.empty()) {
        out_ += '{';
        bool first = true;
        for (const auto& [label, text] : labels) {
            if (!first) out_ += ',';
            first = false;
            out_ += label;
            out_ += "=\"";
            out_ += escape_label_value(text);
            out_ += '"';
        }
        if (!le.empty()) {
            if (!first) out_ += ',';
            out_ += "le=\"";
            out_ += le;
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
    out_ += format_metric_value(value);
    out_ += '\n';
}

void MetricsText::sample(std::string_view name, const MetricLabels& labels, double value)
{
    series(name, labels, {}, value);
}

void MetricsText::histogram(std::string_view name, const MetricLabels& labels, const Histogram& h)
{
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.bounds().size(); ++i) {
        cumulative += h.counts()[i];
        series(bucket, labels, format_metric_value(h.bounds()[i]), static_cast<double>(cumulative));
    }
    series(bucket, labels, "+Inf", static_cast<double>(h.count()));
    series(std::string(name) + "_sum", labels, {}, h.sum());
    series(std::string(name) + "_count", labels, {}, static_cast<double>(h.count()));
}

}  // namespace mailqd
