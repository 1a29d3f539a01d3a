// The Prometheus text format: escaping, HELP/TYPE, values, histograms.
#include "daemon/http/metrics_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mailqd {
namespace {

TEST(MetricsText, EscapesLabelValuesAndHelp)
{
    const std::pair<std::string, std::string> cases[] = {
        {"plain", "plain"},
        {"a\"b", "a\\\"b"},
        {"back\\slash", "back\\\\slash"},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"", ""},
    };
    for (const auto& [in, out] : cases) EXPECT_EQ(escape_label_value(in), out) << in;
    EXPECT_EQ(escape_help("a \"quoted\" \\ and\nmore"), "a \"quoted\" \\\\ and\\nmore");
}

TEST(MetricsText, FormatsValues)
{
    const std::pair<double, std::string> cases[] = {
        {0, "0"},
        {42, "42"},
        {-3, "-3"},
        {0.0005, "0.0005"},
        {0.1, "0.1"},
        {2.5, "2.5"},
        {432000, "432000"},
        {std::numeric_limits<double>::infinity(), "+Inf"},
        {-std::numeric_limits<double>::infinity(), "-Inf"},
        {std::nan(""), "NaN"},
    };
    for (const auto& [in, out] : cases) EXPECT_EQ(format_metric_value(in), out) << in;
}

TEST(MetricsText, FamiliesAndSamples)
{
    MetricsText out;
    out.family("mailqd_queue_messages", "gauge", "Messages by state.");
    out.sample("mailqd_queue_messages", {{"state", "queued"}}, 3);
    out.sample("mailqd_queue_messages", {{"relay", "a\"b"}, {"state", "x\ny"}}, 1.5);
    out.family("mailqd_up", "gauge", "Up.");
    out.sample("mailqd_up", {}, 1);
    EXPECT_EQ(out.text(),
              "# HELP mailqd_queue_messages Messages by state.\n"
              "# TYPE mailqd_queue_messages gauge\n"
              "mailqd_queue_messages{state=\"queued\"} 3\n"
              "mailqd_queue_messages{relay=\"a\\\"b\",state=\"x\\ny\"} 1.5\n"
              "# HELP mailqd_up Up.\n"
              "# TYPE mailqd_up gauge\n"
              "mailqd_up 1\n");
}

TEST(MetricsText, HistogramBucketsAreCumulativeWithInfSumAndCount)
{
    Histogram h({0.5, 0.001, 0.01});  // sorted on construction
    for (double v : {0.0005, 0.001, 0.002, 0.3, 0.3, 7.0}) h.observe(v);
    EXPECT_EQ(h.count(), 6u);
    MetricsText out;
    out.family("mailqd_submission_duration_seconds", "histogram", "Submission time.");
    out.histogram("mailqd_submission_duration_seconds", {{"door", "tcp"}}, h);
    EXPECT_EQ(out.text(),
              "# HELP mailqd_submission_duration_seconds Submission time.\n"
              "# TYPE mailqd_submission_duration_seconds histogram\n"
              "mailqd_submission_duration_seconds_bucket{door=\"tcp\",le=\"0.001\"} 2\n"
              "mailqd_submission_duration_seconds_bucket{door=\"tcp\",le=\"0.01\"} 3\n"
              "mailqd_submission_duration_seconds_bucket{door=\"tcp\",le=\"0.5\"} 5\n"
              "mailqd_submission_duration_seconds_bucket{door=\"tcp\",le=\"+Inf\"} 6\n"
              "mailqd_submission_duration_seconds_sum{door=\"tcp\"} 7.6035\n"
              "mailqd_submission_duration_seconds_count{door=\"tcp\"} 6\n");
}

TEST(MetricsText, AnEmptyHistogramWithoutLabels)
{
    Histogram h({1, 5});
    MetricsText out;
    out.histogram("mailqd_delivery_delay_seconds", {}, h);
    EXPECT_EQ(out.text(),
              "mailqd_delivery_delay_seconds_bucket{le=\"1\"} 0\n"
              "mailqd_delivery_delay_seconds_bucket{le=\"5\"} 0\n"
              "mailqd_delivery_delay_seconds_bucket{le=\"+Inf\"} 0\n"
              "mailqd_delivery_delay_seconds_sum 0\n"
              "mailqd_delivery_delay_seconds_count 0\n");
}

}  // namespace
}  // namespace mailqd
