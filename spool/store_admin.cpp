// The store's admin verbs (mailqctl list, show, hold, release, retry,
// delete, stats) and the purge of done mail. See store.hpp.
// Queue IDs come from the control socket and are only ever bound parameters.
#include <sqlite3.h>

#include "spool/store.hpp"
#include "spool/store_sql.hpp"

namespace mailqd {

namespace {

// Columns: id, received_at, size, sender, submitter.
constexpr const char* message_columns = "m.id, m.received_at, m.size, m.sender, m.submitter";
// Columns: id, address, state, attempts, next_attempt_at, last_reply.
constexpr const char* recipient_columns =
    "r.id, r.address, r.state, r.attempts, r.next_attempt_at, r.last_reply";

MessageInfo read_message(const Statement& s, int first)
{
    MessageInfo m;
    m.id = s.text(first);
    m.received_at = s.time(first + 1);
    m.size = static_cast<std::uint64_t>(s.integer(first + 2));
    m.sender = s.text(first + 3);
    m.submitter = s.text(first + 4);
    return m;
}

RecipientInfo read_recipient(const Statement& s, int first)
{
    RecipientInfo r;
    r.id = s.integer(first);
    r.address = s.text(first + 1);
    r.state = recipient_state_from(s.text(first + 2)).value_or(RecipientState::queued);
    r.attempts = static_cast<int>(s.integer(first + 3));
    // DESIGN.md: next_attempt_at is shown only for deferred recipients.
    if (r.state == RecipientState::deferred) r.next_attempt_at = s.optional_time(first + 4);
    r.last_reply = s.text(first + 5);
    return r;
}

Error unknown_id(const std::string& id) { return make_error(ErrorKind::not_found, "unknown queue ID " + id); }

std::string list_sql(const char* where)
{
    return std::string("SELECT ") + message_columns + ", " + recipient_columns +
           " FROM messages m JOIN recipients r ON r.message_id = m.id" + where +
           " ORDER BY m.received_at, m.rowid, r.position";
}

}  // namespace

Result<std::vector<MessageInfo>> Store::list(std::optional<RecipientState> state,
                                             const std::optional<std::string>& submitter)
{
    static const std::string every = list_sql("");
    static const std::string of_submitter = list_sql(" WHERE m.submitter = ?1");
    auto s = sql(submitter ? of_submitter.c_str() : every.c_str());
    if (!s) return s.error();
    if (submitter) s->bind_all(*submitter);
    std::vector<MessageInfo> all;
    auto st = each_row(*s, [&](const Statement& row) {
        if (all.empty() || all.back().id != row.text(0)) all.push_back(read_message(row, 0));
        all.back().recipients.push_back(read_recipient(row, 5));
    });
    if (!st) return st.error();
    if (!state) return all;
    std::vector<MessageInfo> matching;
    for (auto& m : all)
        if (m.state() == *state) matching.push_back(std::move(m));
    return matching;
}

Result<MessageInfo> Store::show(const std::string& id)
{
    static const std::string head_sql =
        std::string("SELECT ") + message_columns + " FROM messages m WHERE m.id = ?1";
    static const std::string recipients_sql =
        std::string("SELECT ") + recipient_columns +
        " FROM recipients r WHERE r.message_id = ?1 ORDER BY r.position";
    MessageInfo m;
    Status st = atomically(
        [&]() -> Status {
            auto head = sql(head_sql.c_str());
            if (!head) return head.error();
            auto found = head->bind_all(id).step();
            if (!found) return found.error();
            if (!*found) return unknown_id(id);
            m = read_message(*head, 0);
            auto r = sql(recipients_sql.c_str());
            if (!r) return r.error();
            if (auto st =
                    each_row(r->bind_all(id),
                             [&](const Statement& row) { m.recipients.push_back(read_recipient(row, 0)); });
                !st)
                return st;
            auto a =
                sql("SELECT at, relay, recipient, reply FROM attempts WHERE message_id = ?1 ORDER BY at, id");
            if (!a) return a.error();
            return each_row(a->bind_all(id), [&](const Statement& row) {
                m.attempts.push_back(AttemptInfo{row.time(0), row.text(1), row.text(2), row.text(3)});
            });
        },
        false);
    if (!st) return st.error();
    return m;
}

Status Store::require_message(const std::string& id)
{
    auto s = sql("SELECT 1 FROM messages WHERE id = ?1");
    if (!s) return s.error();
    auto found = s->bind_all(id).step();
    if (!found) return found.error();
    return *found ? Status{} : Status{unknown_id(id)};
}

// update_sql takes the message ID as ?1 and, if it uses it, now as ?2.
Status Store::set_recipients(const std::string& id, const char* update_sql, TimePoint now)
{
    return atomically([&]() -> Status {
        if (auto st = require_message(id); !st) return st;
        auto s = sql(update_sql);
        if (!s) return s.error();
        s->bind(1, id);
        if (s->parameter_count() >= 2) s->bind(2, now);
        return s->run();
    });
}

// A held recipient is never due: hold clears its next attempt.
Status Store::hold(const std::string& id)
{
    return set_recipients(id,
                          "UPDATE recipients SET state = 'held', next_attempt_at = NULL "
                          "WHERE message_id = ?1 AND state IN ('queued', 'deferred')",
                          now_seconds());
}

Status Store::release(const std::string& id) { return release(id, now_seconds()); }

Status Store::release(const std::string& id, TimePoint now)
{
    return set_recipients(id,
                          "UPDATE recipients SET state = 'queued', next_attempt_at = ?2 "
                          "WHERE message_id = ?1 AND state = 'held'",
                          now);
}

Status Store::retry(const std::string& id) { return retry(id, now_seconds()); }

// The recipient stays deferred until the attempt decides otherwise.
Status Store::retry(const std::string& id, TimePoint now)
{
    return set_recipients(id,
                          "UPDATE recipients SET next_attempt_at = ?2 "
                          "WHERE message_id = ?1 AND state = 'deferred'",
                          now);
}

Result<std::vector<std::string>> Store::not_done_ids()
{
    auto s = sql("SELECT id FROM messages WHERE done_at IS NULL ORDER BY received_at, rowid");
    if (!s) return s.error();
    std::vector<std::string> ids;
    if (auto st = each_row(*s, [&](const Statement& row) { ids.push_back(row.text(0)); }); !st)
        return st.error();
    return ids;
}

// Recipients and attempts go with the message (ON DELETE CASCADE).
Status Store::remove(const std::string& id)
{
    auto s = sql("DELETE FROM messages WHERE id = ?1");
    if (!s) return s.error();
    if (auto st = s->bind_all(id).run(); !st) return st;
    return sqlite3_changes64(db_) > 0 ? Status{} : Status{unknown_id(id)};
}

Result<std::size_t> Store::purge_done(TimePoint cutoff)
{
    auto s = sql("DELETE FROM messages WHERE done_at IS NOT NULL AND done_at < ?1");
    if (!s) return s.error();
    if (auto st = s->bind_all(cutoff).run(); !st) return st.error();
    return static_cast<std::size_t>(sqlite3_changes64(db_));
}

// Counts are of messages by message state; the rule lives in
// message_state(), so it is applied here rather than restated in SQL.
Result<QueueCounts> Store::counts(TimePoint now)
{
    QueueCounts counts;
    auto count = [&](const std::vector<RecipientState>& states) {
        if (states.empty()) return;
        switch (message_state(states)) {
            case RecipientState::queued: ++counts.queued; break;
            case RecipientState::deferred: ++counts.deferred; break;
            case RecipientState::held: ++counts.held; break;
            case RecipientState::sent: ++counts.sent; break;
            case RecipientState::failed: ++counts.failed; break;
        }
    };
    Status st = atomically(
        [&]() -> Status {
            auto s = sql("SELECT message_id, state FROM recipients ORDER BY message_id");
            if (!s) return s.error();
            std::string current;
            std::vector<RecipientState> states;
            auto rows = each_row(*s, [&](const Statement& row) {
                if (row.text(0) != current) {
                    count(states);
                    states.clear();
                    current = row.text(0);
                }
                states.push_back(recipient_state_from(row.text(1)).value_or(RecipientState::queued));
            });
            if (!rows) return rows;
            count(states);
            auto oldest = sql("SELECT min(received_at) FROM messages WHERE done_at IS NULL");
            if (!oldest) return oldest.error();
            return each_row(*oldest, [&](const Statement& row) {
                if (auto t = row.optional_time(0))
                    counts.oldest_age_s = std::max<std::int64_t>(0, (now - *t).count());
            });
        },
        false);
    if (!st) return st.error();
    return counts;
}

Result<std::vector<RelayTotals>> Store::relay_totals()
{
    auto s = sql(
        "SELECT relay, sent, failed, deferred, last_success_at, last_error FROM relay_totals ORDER BY relay");
    if (!s) return s.error();
    std::vector<RelayTotals> totals;
    auto st = each_row(*s, [&](const Statement& row) {
        totals.push_back(RelayTotals{row.text(0), static_cast<std::uint64_t>(row.integer(1)),
                                     static_cast<std::uint64_t>(row.integer(2)),
                                     static_cast<std::uint64_t>(row.integer(3)), row.optional_time(4),
                                     row.optional_text(5)});
    });
    if (!st) return st.error();
    return totals;
}

}  // namespace mailqd
