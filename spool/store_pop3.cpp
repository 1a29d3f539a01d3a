// The store's POP3 bookkeeping: UIDLs already fetched (so a message left on
// the server is not fetched twice) and per-mailbox fetch status for stats.
// UIDLs come from remote servers: they are only ever bound parameters.
#include <unordered_set>

#include "spool/store.hpp"
#include "spool/store_sql.hpp"

namespace mailqd {

bool Store::uidl_known(const std::string& mailbox, const std::string& uidl)
{
    auto s = sql("SELECT 1 FROM uidls WHERE mailbox = ?1 AND uidl = ?2");
    if (!s) return false;
    auto row = s->bind_all(mailbox, uidl).step();
    return row && *row;
}

Status Store::record_uidl(const std::string& mailbox, const std::string& uidl, TimePoint now)
{
    auto s =
        sql("INSERT INTO uidls (mailbox, uidl, fetched_at) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (mailbox, uidl) DO NOTHING");
    if (!s) return s.error();
    return s->bind_all(mailbox, uidl, now).run();
}

// A UIDL that left the server can never come back with the same message, so
// forgetting it keeps the table the size of the mailbox.
Status Store::forget_uidls_except(const std::string& mailbox, const std::vector<std::string>& present)
{
    const std::unordered_set<std::string> keep(present.begin(), present.end());
    return atomically([&]() -> Status {
        auto s = sql("SELECT uidl FROM uidls WHERE mailbox = ?1");
        if (!s) return s.error();
        std::vector<std::string> gone;
        auto rows = each_row(s->bind_all(mailbox), [&](const Statement& row) {
            if (!keep.contains(row.text(0))) gone.push_back(row.text(0));
        });
        if (!rows) return rows;
        for (const auto& uidl : gone) {
            auto d = sql("DELETE FROM uidls WHERE mailbox = ?1 AND uidl = ?2");
            if (!d) return d.error();
            if (auto st = d->bind_all(mailbox, uidl).run(); !st) return st;
        }
        return {};
    });
}

Status Store::record_fetch(const std::string& mailbox, TimePoint at, std::uint64_t fetched,
                           const std::optional<std::string>& error)
{
    auto s =
        sql("INSERT INTO mailbox_status (mailbox, last_fetch_at, fetched, last_error) "
            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (mailbox) DO UPDATE SET "
            "last_fetch_at = excluded.last_fetch_at, fetched = fetched + excluded.fetched, "
            "last_error = excluded.last_error");
    if (!s) return s.error();
    return s->bind_all(mailbox, at, std::int64_t(fetched), error).run();
}

Result<std::vector<MailboxTotals>> Store::mailbox_totals()
{
    auto s = sql("SELECT mailbox, last_fetch_at, fetched, last_error FROM mailbox_status ORDER BY mailbox");
    if (!s) return s.error();
    std::vector<MailboxTotals> totals;
    auto st = each_row(*s, [&](const Statement& row) {
        totals.push_back(MailboxTotals{row.text(0), row.optional_time(1),
                                       static_cast<std::uint64_t>(row.integer(2)), row.optional_text(3)});
    });
    if (!st) return st.error();
    return totals;
}

}  // namespace mailqd
