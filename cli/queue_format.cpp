// Human views of queue JSON (see queue_format.hpp).
#include "cli/queue_format.hpp"

#include <algorithm>
#include <sstream>

#include "cli/text_format.hpp"

namespace mailqd {

namespace {

std::string str(const Json& j, const char* key, std::string fallback = "-")
{
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return fallback;
    return printable(it->get<std::string>());
}

std::uint64_t num(const Json& j, const char* key)
{
    if (!j.is_object()) return 0;
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return 0;
    if (it->is_number_unsigned()) return it->get<std::uint64_t>();
    auto value = it->get<double>();
    return value > 0 ? static_cast<std::uint64_t>(value) : 0;
}

const Json& array_at(const Json& j, const char* key)
{
    static const Json empty = Json::array();
    if (!j.is_object()) return empty;
    auto it = j.find(key);
    return (it != j.end() && it->is_array()) ? *it : empty;
}

std::string sender_of(const Json& message)
{
    if (message.is_object() && message.contains("sender") && message["sender"].is_string())
        return format_sender(message["sender"].get<std::string>());
    return "-";
}

std::string plural(std::uint64_t n, const char* word)
{
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// "2 attempts, next in 4m" for a recipient.
std::string recipient_progress(const Json& rcpt, TimePoint now)
{
    std::string out = plural(num(rcpt, "attempts"), "attempt");
    if (rcpt.is_object() && rcpt.contains("next_attempt_at") && rcpt["next_attempt_at"].is_string()) {
        auto next = parse_time(rcpt["next_attempt_at"].get<std::string>());
        if (next) out += ", next in " + format_age((*next - now).count());
    }
    return out;
}

// The recipient block shared by list and show: state, address, progress,
// then the last reply on its own line so long replies stay readable.
void write_recipient(std::ostringstream& out, const Json& rcpt, TimePoint now, std::string_view indent)
{
    out << indent << pad_right(str(rcpt, "state"), 9) << ' ' << str(rcpt, "address") << "  ("
        << recipient_progress(rcpt, now) << ")\n";
    std::string reply = str(rcpt, "last_reply", "");
    if (!reply.empty()) out << indent << std::string(10, ' ') << reply << '\n';
}

// "183" or "2314 (2.3K)": exact bytes, and the short form when it differs.
std::string size_text(std::uint64_t bytes)
{
    std::string exact = std::to_string(bytes);
    std::string short_form = format_size(bytes);
    return short_form == exact ? exact : exact + " (" + short_form + ")";
}

std::string optional_time(const Json& j, const char* key, TimePoint now)
{
    std::string at = str(j, key, "");
    if (at.empty()) return "never";
    return at + " (" + age_since(j[key], now) + " ago)";
}

}  // namespace

std::string age_since(const Json& time, TimePoint now)
{
    if (!time.is_string()) return "-";
    auto t = parse_time(time.get<std::string>());
    if (!t) return "-";
    return format_age((now - *t).count());
}

std::string render_list(const Json& messages, TimePoint now)
{
    if (!messages.is_array() || messages.empty()) return "Mail queue is empty\n";
    std::size_t id_width = 2;
    for (const auto& m : messages) id_width = std::max(id_width, str(m, "id").size());

    std::ostringstream out;
    out << pad_right("ID", id_width) << "  " << pad_right("AGE", 5) << ' ' << pad_right("SIZE", 6) << ' '
        << pad_right("STATE", 9) << ' ' << "SENDER\n";
    std::uint64_t total = 0;
    for (const auto& m : messages) {
        total += num(m, "size");
        out << pad_right(str(m, "id"), id_width) << "  "
            << pad_right(age_since(m.value("received_at", Json()), now), 5) << ' '
            << pad_right(format_size(num(m, "size")), 6) << ' ' << pad_right(str(m, "state"), 9) << ' '
            << sender_of(m) << '\n';
        for (const auto& rcpt : array_at(m, "recipients")) write_recipient(out, rcpt, now, "    ");
    }
    out << "-- " << plural(messages.size(), "message") << ", " << format_size(total) << '\n';
    return out.str();
}

std::string render_show(const Json& message, TimePoint now)
{
    std::ostringstream out;
    out << "Queue ID:   " << str(message, "id") << '\n'
        << "State:      " << str(message, "state") << '\n'
        << "Received:   " << optional_time(message, "received_at", now) << '\n'
        << "Size:       " << size_text(num(message, "size")) << '\n'
        << "Sender:     " << sender_of(message) << '\n'
        << "Submitter:  " << str(message, "submitter") << '\n';
    out << "\nRecipients:\n";
    for (const auto& rcpt : array_at(message, "recipients")) write_recipient(out, rcpt, now, "  ");
    const Json& attempts = array_at(message, "attempts");
    out << "\nAttempts:" << (attempts.empty() ? " none\n" : "\n");
    for (const auto& a : attempts)
        out << "  " << str(a, "at") << "  " << str(a, "relay") << "  " << str(a, "recipient") << "\n    "
            << str(a, "reply") << '\n';
    return out.str();
}

std::string render_stats(const Json& stats, TimePoint now)
{
    const Json& q = stats.is_object() && stats.contains("queue") ? stats["queue"] : Json();
    std::ostringstream out;
    const Json& store = stats.is_object() && stats.contains("store") ? stats["store"] : Json();
    if (!q.is_object()) {
        out << "Queue:  cannot be read: " << str(store, "read_error") << '\n';
    } else {
        out << "Queue:  " << num(q, "queued") << " queued, " << num(q, "deferred") << " deferred, "
            << num(q, "held") << " held, " << num(q, "sent") << " sent, " << num(q, "failed") << " failed";
        if (q.contains("oldest_age_s") && q["oldest_age_s"].is_number())
            out << "; oldest " << format_age(q["oldest_age_s"].get<std::int64_t>());
        out << '\n';
    }
    const Json& relays = array_at(stats, "relays");
    out << "\nRelays:" << (relays.empty() ? " none\n" : "\n");
    for (const auto& r : relays) {
        out << "  " << str(r, "name") << ": " << num(r, "in_flight") << " in flight, " << num(r, "sent")
            << " sent, " << num(r, "failed") << " failed, " << num(r, "deferred") << " deferred\n"
            << "    last success: " << optional_time(r, "last_success_at", now) << '\n';
        if (std::string e = str(r, "last_error", ""); !e.empty()) out << "    last error:   " << e << '\n';
    }
    if (num(store, "errors") > 0) {
        out << "\nStore:  " << num(store, "errors") << " errors since start, " << num(store, "reopens")
            << " re-opens\n    last error:   " << str(store, "last_error", "") << " ("
            << optional_time(store, "last_error_at", now) << ")\n";
    }
    // Only the reasons that happened: a quiet door prints one short line.
    if (stats.is_object() && stats.contains("submit")) {
        const Json& refused = stats["submit"].is_object() ? stats["submit"].value("refused", Json()) : Json();
        std::string counts;
        if (refused.is_object())
            for (const auto& [reason, n] : refused.items())
                if (n.is_number_unsigned() && n.get<std::uint64_t>() > 0)
                    counts += (counts.empty() ? "" : ", ") + printable(reason, 40) + " " +
                              std::to_string(n.get<std::uint64_t>());
        out << "\nSubmit: refused " << (counts.empty() ? "none" : counts) << '\n';
    }
    const Json& mailboxes = array_at(stats, "mailboxes");
    out << "\nMailboxes:" << (mailboxes.empty() ? " none\n" : "\n");
    for (const auto& m : mailboxes) {
        out << "  " << str(m, "name") << ": " << num(m, "fetched") << " fetched\n"
            << "    last fetch:   " << optional_time(m, "last_fetch_at", now) << '\n';
        if (std::string e = str(m, "last_error", ""); !e.empty()) out << "    last error:   " << e << '\n';
    }
    return out.str();
}

FetchView render_fetch(const Json& result)
{
    FetchView view;
    auto add = [&](const std::string& name, const Json& entry) {
        std::string error = str(entry, "error", "");
        if (!error.empty()) {
            view.errors.push_back(name + ": " + error);
            return;
        }
        std::uint64_t n = entry.is_number() ? entry.get<std::uint64_t>() : num(entry, "new");
        view.text += name + ": " + std::to_string(n) + " new\n";
    };
    const Json& list = result.is_array() ? result : array_at(result, "mailboxes");
    if (!list.empty()) {
        for (const auto& entry : list) add(str(entry, "name"), entry);
    } else if (result.is_object() && !result.contains("mailboxes")) {
        for (const auto& [name, entry] : result.items()) add(printable(name), entry);
    }
    return view;
}

}  // namespace mailqd
