// See metrics_page.hpp.
#include "daemon/metrics_page.hpp"

#include <map>

namespace mailqd {
namespace {

double number(std::uint64_t n) { return static_cast<double>(n); }

void queue_metrics(MetricsText& out, const QueueCounts& q)
{
    out.family("mailqd_queue_messages", "gauge", "Messages in the queue by message state.");
    const std::pair<const char*, std::uint64_t> states[] = {{"queued", q.queued},
                                                            {"deferred", q.deferred},
                                                            {"held", q.held},
                                                            {"sent", q.sent},
                                                            {"failed", q.failed}};
    for (const auto& [state, n] : states) out.sample("mailqd_queue_messages", {{"state", state}}, number(n));
    out.family("mailqd_queue_oldest_message_age_seconds", "gauge",
               "Age of the oldest message not yet done (0 when there is none).");
    out.sample("mailqd_queue_oldest_message_age_seconds", {},
               static_cast<double>(q.oldest_age_s.value_or(0)));
}

void relay_metrics(MetricsText& out, const MetricsSnapshot& s)
{
    std::map<std::string, RelayTotals> totals;
    for (const auto& name : s.relays) totals[name].name = name;
    for (const auto& t : s.relay_totals) totals[t.name] = t;
    const struct {
        const char* name;
        const char* help;
        std::uint64_t RelayTotals::*field;
    } counters[] = {
        {"mailqd_recipients_sent_total", "Recipients sent, per relay (since the queue was created).",
         &RelayTotals::sent},
        {"mailqd_recipients_deferred_total",
         "Delivery attempts deferred, per relay (since the queue was created).", &RelayTotals::deferred},
        {"mailqd_recipients_failed_total", "Recipients failed, per relay (since the queue was created).",
         &RelayTotals::failed},
    };
    for (const auto& c : counters) {
        out.family(c.name, "counter", c.help);
        for (const auto& [name, t] : totals) out.sample(c.name, {{"relay", name}}, number(t.*c.field));
    }
    out.family("mailqd_recipients_bounced_total", "counter",
               "Failed recipients reported to the sender in a bounce, per relay (since mailqd started).");
    for (const auto& [name, t] : totals) {
        std::uint64_t n = 0;
        if (s.telemetry)
            if (auto it = s.telemetry->bounced_by_relay.find(name); it != s.telemetry->bounced_by_relay.end())
                n = it->second;
        out.sample("mailqd_recipients_bounced_total", {{"relay", name}}, number(n));
    }
    out.family("mailqd_relay_last_success_timestamp_seconds", "gauge",
               "When a recipient was last sent through the relay (Unix time).");
    for (const auto& [name, t] : totals)
        if (t.last_success_at)
            out.sample("mailqd_relay_last_success_timestamp_seconds", {{"relay", name}},
                       static_cast<double>(t.last_success_at->time_since_epoch().count()));
    out.family("mailqd_relay_recipients_in_flight", "gauge",
               "Recipients handed to the relay's sessions and not yet recorded.");
    for (const auto& [name, n] : s.in_flight)
        out.sample("mailqd_relay_recipients_in_flight", {{"relay", name}}, number(n));
}

void intake_metrics(MetricsText& out, const MetricsSnapshot& s)
{
    out.family("mailqd_messages_accepted_total", "counter",
               "Messages accepted into the queue, per door (since mailqd started).");
    std::map<std::string, std::uint64_t> doors{{"socket", 0}, {"tcp", 0}, {"spool", 0}, {"bounce", 0}};
    if (s.telemetry)
        for (const auto& [door, n] : s.telemetry->accepted_by_door) doors[door] = n;
    for (const auto& [door, n] : doors)
        out.sample("mailqd_messages_accepted_total", {{"door", door}}, number(n));
    out.family("mailqd_submit_refused_total", "counter",
               "Submissions refused by the submit door, per reason (since mailqd started).");
    for (const auto& [reason, n] : s.refusals)
        out.sample("mailqd_submit_refused_total", {{"reason", reason}}, number(n));
    if (!s.telemetry) return;
    out.family("mailqd_submission_duration_seconds", "histogram",
               "Time from a door handing over a message to its being durable in the queue.");
    out.histogram("mailqd_submission_duration_seconds", {}, s.telemetry->submission_seconds);
    out.family("mailqd_delivery_delay_seconds", "histogram",
               "Time from a message's arrival to a recipient sent.");
    out.histogram("mailqd_delivery_delay_seconds", {}, s.telemetry->delivery_delay_seconds);
}

void mailbox_metrics(MetricsText& out, const std::vector<MailboxTotals>& mailboxes)
{
    out.family("mailqd_mailbox_fetched_messages_total", "counter",
               "Messages fetched over POP3 into the mailbox's Maildir (since the queue was created).");
    for (const auto& m : mailboxes)
        out.sample("mailqd_mailbox_fetched_messages_total", {{"mailbox", m.name}}, number(m.fetched));
    out.family("mailqd_mailbox_fetch_failing", "gauge", "1 when the mailbox's last fetch failed, else 0.");
    for (const auto& m : mailboxes)
        out.sample("mailqd_mailbox_fetch_failing", {{"mailbox", m.name}}, m.last_error ? 1 : 0);
    out.family("mailqd_mailbox_last_fetch_timestamp_seconds", "gauge",
               "When the mailbox was last fetched (Unix time).");
    for (const auto& m : mailboxes)
        if (m.last_fetch_at)
            out.sample("mailqd_mailbox_last_fetch_timestamp_seconds", {{"mailbox", m.name}},
                       static_cast<double>(m.last_fetch_at->time_since_epoch().count()));
}

}  // namespace

std::optional<std::string> health_problem(const StoreFaults& faults)
{
    if (!faults.failing) return std::nullopt;
    return "queue not writable: " + faults.last_error.value_or("store fault");
}

std::string render_metrics(const MetricsSnapshot& s)
{
    MetricsText out;
    queue_metrics(out, s.queue);
    intake_metrics(out, s);
    relay_metrics(out, s);
    mailbox_metrics(out, s.mailboxes);
    out.family("mailqd_store_faults_total", "counter",
               "Queue writes that failed for a store fault (full disk, read-only or moved database).");
    out.sample("mailqd_store_faults_total", {}, number(s.faults.errors));
    out.family("mailqd_store_writable", "gauge",
               "1 while the queue takes writes (GET /healthz answers 200), else 0.");
    out.sample("mailqd_store_writable", {}, health_problem(s.faults) ? 0 : 1);
    return out.text();
}

}  // namespace mailqd
