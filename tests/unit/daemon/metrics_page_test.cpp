// The /metrics page from a snapshot: every family has HELP and TYPE once,
// labels are the bounded ones, configured relays have series from the start.
#include "daemon/metrics_page.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

namespace mailqd {
namespace {

bool has_line(const std::string& text, const std::string& line)
{
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (l == line) return true;
    return false;
}

TEST(MetricsPage, RendersTheSnapshot)
{
    Telemetry telemetry;
    telemetry.accepted_by_door["tcp"] = 4;
    telemetry.bounced_by_relay["main"] = 1;
    telemetry.submission_seconds.observe(0.002);
    telemetry.delivery_delay_seconds.observe(3);
    MetricsSnapshot s;
    s.queue.queued = 2;
    s.queue.sent = 5;
    s.queue.oldest_age_s = 90;
    s.relays = {"main", "backup"};
    s.relay_totals = {RelayTotals{"main", 5, 1, 2, std::nullopt, std::nullopt}};
    s.in_flight = {{"main", 3}, {"backup", 0}};
    s.mailboxes = {MailboxTotals{"inbox", std::nullopt, 7, std::string("timeout")}};
    s.refusals = {{"user", 1}, {"rate", 0}};
    s.telemetry = &telemetry;
    const std::string text = render_metrics(s);

    for (const char* line : {
             "mailqd_queue_messages{state=\"queued\"} 2",
             "mailqd_queue_messages{state=\"sent\"} 5",
             "mailqd_queue_messages{state=\"held\"} 0",
             "mailqd_queue_oldest_message_age_seconds 90",
             "mailqd_messages_accepted_total{door=\"tcp\"} 4",
             "mailqd_messages_accepted_total{door=\"socket\"} 0",
             "mailqd_recipients_sent_total{relay=\"main\"} 5",
             "mailqd_recipients_sent_total{relay=\"backup\"} 0",
             "mailqd_recipients_failed_total{relay=\"main\"} 1",
             "mailqd_recipients_deferred_total{relay=\"main\"} 2",
             "mailqd_recipients_bounced_total{relay=\"main\"} 1",
             "mailqd_relay_recipients_in_flight{relay=\"main\"} 3",
             "mailqd_mailbox_fetched_messages_total{mailbox=\"inbox\"} 7",
             "mailqd_mailbox_fetch_failing{mailbox=\"inbox\"} 1",
             "mailqd_submit_refused_total{reason=\"user\"} 1",
             "mailqd_submission_duration_seconds_bucket{le=\"0.0025\"} 1",
             "mailqd_submission_duration_seconds_bucket{le=\"0.001\"} 0",
             "mailqd_submission_duration_seconds_count 1",
             "mailqd_delivery_delay_seconds_bucket{le=\"1\"} 0",
             "mailqd_delivery_delay_seconds_bucket{le=\"5\"} 1",
             "mailqd_delivery_delay_seconds_bucket{le=\"+Inf\"} 1",
             "mailqd_delivery_delay_seconds_sum 3",
             "mailqd_store_writable 1",
             "# TYPE mailqd_delivery_delay_seconds histogram",
             "# TYPE mailqd_recipients_sent_total counter",
             "# TYPE mailqd_queue_messages gauge",
         })
        EXPECT_TRUE(has_line(text, line)) << line << "\n" << text;

    // HELP and TYPE once per family, each family's samples together, and
    // every sample of the mailqd_ prefix.
    std::map<std::string, int> types;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# TYPE ", 0) == 0) ++types[line.substr(7, line.find(' ', 7) - 7)];
        if (line[0] != '#') {
            EXPECT_EQ(line.rfind("mailqd_", 0), 0u) << line;
        }
    }
    for (const auto& [name, n] : types) EXPECT_EQ(n, 1) << name;
    EXPECT_GE(types.size(), 15u);
}

TEST(MetricsPage, HealthFollowsTheWritersLastBatch)
{
    StoreFaults faults;
    EXPECT_FALSE(health_problem(faults));
    faults.errors = 3;  // faults in the past, writes succeeding since
    EXPECT_FALSE(health_problem(faults));
    faults.failing = true;
    faults.last_error = "database or disk is full";
    EXPECT_EQ(health_problem(faults), "queue not writable: database or disk is full");
    MetricsSnapshot s;
    s.faults = faults;
    EXPECT_TRUE(has_line(render_metrics(s), "mailqd_store_writable 0"));
    EXPECT_TRUE(has_line(render_metrics(s), "mailqd_store_faults_total 3"));
}

}  // namespace
}  // namespace mailqd
